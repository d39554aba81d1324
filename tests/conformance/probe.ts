// Probe names as case files write them: `80/TCP`, `53/UDP`, `9000/SCTP`, `ICMP`.
import type { ProbeSpec } from "./cluster.ts";

const PORT_PROBE = /^(\d{1,5})\/(TCP|UDP|SCTP)$/;

/** Parses a probe name; returns the reason when it is not one. */
export function parseProbe(text: unknown): ProbeSpec | string {
  if (typeof text !== "string") {
    return `must be a string like "80/TCP" or "ICMP", got ${JSON.stringify(text)}`;
  }
  if (text === "ICMP") return { protocol: "ICMP", port: 0 };
  const m = PORT_PROBE.exec(text);
  if (!m) {
    return `"${text}" is not a probe: write PORT/TCP, PORT/UDP, PORT/SCTP (upper case) or ICMP`;
  }
  const port = Number(m[1]);
  if (port < 1 || port > 65535) return `"${text}": port must be 1-65535`;
  return { protocol: m[2] as ProbeSpec["protocol"], port };
}

export function probeName(probe: ProbeSpec): string {
  return probe.protocol === "ICMP" ? "ICMP" : `${probe.port}/${probe.protocol}`;
}

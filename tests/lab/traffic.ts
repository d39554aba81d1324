// Bounded traffic between lab namespaces: every helper has a fixed count and timeout.
import { inNs, run } from "./netns.ts";

/** `count` pings from namespace `ns` to `address`, 0.2 s apart, 1 s timeout each. */
export async function ping(
  ns: string,
  address: string,
  count = 3,
): Promise<{ sent: number; received: number }> {
  const r = await inNs(ns, [
    "ping",
    "-n",
    "-q",
    "-c",
    String(count),
    "-i",
    "0.2",
    "-W",
    "1",
    address,
  ], {
    allowFail: true,
    timeoutMs: 5_000 + count * 1_500,
  });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? count), received: Number(m?.[2] ?? 0) };
}

/** Opens (and closes) a TCP connection from `ns` to address:port within `timeoutS` seconds. */
export async function tcpConnect(
  ns: string,
  address: string,
  port: number,
  timeoutS = 2,
): Promise<boolean> {
  const r = await inNs(ns, [
    "timeout",
    String(timeoutS),
    "bash",
    "-c",
    `exec 3<>/dev/tcp/${address}/${port}`,
  ], {
    allowFail: true,
    timeoutMs: (timeoutS + 3) * 1000,
  });
  return r.code === 0;
}

/**
 * A counter of /proc/net/snmp as namespace `ns` sees it, e.g. ("Tcp", "PassiveOpens"): how a
 * test learns that traffic it started is arriving, without a sleep.
 */
export async function snmpCounter(ns: string, group: "Ip" | "Icmp" | "Tcp" | "Udp", name: string) {
  const rows = (await run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"])).stdout.split("\n")
    .filter((l) => l.startsWith(`${group}:`)).map((l) => l.split(/\s+/));
  const i = rows[0]?.indexOf(name) ?? -1;
  if (i < 0) throw new Error(`No ${group} counter "${name}" in /proc/net/snmp`);
  return Number(rows[1]![i]);
}

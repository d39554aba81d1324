// Bounded traffic between lab namespaces: every helper has a fixed count and timeout.
import { inNs } from "./netns.ts";

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

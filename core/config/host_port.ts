// `host:port` as the config and the CLI write listen addresses: a name or IPv4 address, or an
// IPv6 address in brackets, then a port.

/** The host (brackets taken off) and port of `text`, or undefined if it is not host:port. */
export function parseHostPort(text: string): { hostname: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) return undefined;
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

/** Whether `hostname` (as parseHostPort gives it) is a loopback address or `localhost`: a
 * listener there is reachable from this host only. */
export function isLoopbackHost(hostname: string): boolean {
  return /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i.test(hostname);
}

// Bearer tokens of the TCP listeners (the admin API, the flow peer listener).

/** Compares a presented token with the expected one in time independent of where they differ. */
export function tokenMatches(given: string, expected: string): boolean {
  const x = new TextEncoder().encode(given);
  const y = new TextEncoder().encode(expected);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

// Bearer tokens of the admin API's TCP listener (flow peers use mutual TLS, core/tls).

/** Compares a presented token with the expected one in time independent of where they differ. */
export function tokenMatches(given: string, expected: string): boolean {
  const x = new TextEncoder().encode(given);
  const y = new TextEncoder().encode(expected);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Whether an Authorization header carries `Bearer <expected>`. */
export function bearerMatches(header: string | null | undefined, expected: string): boolean {
  const given = header?.startsWith("Bearer ") ? header.slice(7) : "";
  return given !== "" && tokenMatches(given, expected);
}

/** Why a token file cannot serve: unreadable (with the system's reason) or a token too short. */
export class TokenFileError extends Error {
  override name = "TokenFileError";
  constructor(readonly path: string, readonly reason: string, readonly unreadable: boolean) {
    super(unreadable ? `cannot read "${path}": ${reason}` : reason);
  }
}

/** The token in `path`, trimmed; throws TokenFileError when unreadable or under 16 characters. */
export async function readTokenFile(path: string): Promise<string> {
  let token: string;
  try {
    token = (await Deno.readTextFile(path)).trim();
  } catch (err) {
    throw new TokenFileError(path, (err as Error).message, true);
  }
  if (token.length < 16) {
    throw new TokenFileError(path, "the token must be at least 16 characters", false);
  }
  return token;
}

// etcd user/password auth through the gateway: a token from /v3/auth/authenticate, sent as the
// `authorization` header of every request. etcd forgets a simple token after --auth-token-ttl of
// disuse (5 minutes by default) and when the member restarts, and a JWT expires: a request refused
// for its token marks it stale, and the next attempt authenticates again. The password and the
// token are never part of an error or a log line.
import { GrpcCode } from "./errors.ts";

/** etcd's answers that mean "authenticate again", not "you may not". */
export function isStaleToken(code: number | undefined, message: string): boolean {
  return code === GrpcCode.unauthenticated ||
    /invalid auth token|revision of auth store is old/.test(message);
}

export class TokenSource {
  readonly #authenticate: () => Promise<string>;
  #token: string | undefined;
  #pending: Promise<string> | undefined;

  /** `authenticate` asks etcd for a new token (one request at a time). */
  constructor(authenticate: () => Promise<string>) {
    this.#authenticate = authenticate;
  }

  /** The current token, authenticating first when there is none. */
  async get(): Promise<string> {
    if (this.#token !== undefined) return this.#token;
    this.#pending ??= this.#authenticate().then(
      (token) => (this.#token = token),
    ).finally(() => (this.#pending = undefined));
    return await this.#pending;
  }

  /** etcd refused `token`: the next get() authenticates again (unless a newer token is held). */
  invalidate(token: string | undefined): void {
    if (token !== undefined && this.#token === token) this.#token = undefined;
  }
}

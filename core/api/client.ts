// A small client for the admin API, used by the CLI: unix socket by default, or TCP with a token.
import type { ErrorBody } from "./errors.ts";

export type Target = { socket: string } | { url: string; token: string };

export class ApiClientError extends Error {
  override name = "ApiClientError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export class ApiClient implements Disposable {
  readonly #target: Target;
  readonly #client: Deno.HttpClient | undefined;

  constructor(target: Target) {
    this.#target = target;
    this.#client = "socket" in target
      ? Deno.createHttpClient({ proxy: { transport: "unix", path: target.socket } })
      : undefined;
  }

  get where(): string {
    return "socket" in this.#target ? this.#target.socket : this.#target.url;
  }

  async request(method: "GET" | "POST", path: string, body?: string): Promise<Response> {
    // The host name is not used over a unix socket, but Deno still resolves it: "localhost"
    // resolves from /etc/hosts, never through DNS (which a lab namespace cannot reach).
    const base = "socket" in this.#target
      ? "http://localhost"
      : this.#target.url.replace(/\/$/, "");
    const headers: Record<string, string> = {};
    if ("token" in this.#target) headers.authorization = `Bearer ${this.#target.token}`;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(this.#client ? { client: this.#client } : {}),
      });
    } catch (err) {
      const cause = String((err as Error).cause ?? (err as Error).message);
      const hint = /No such file|not found|ENOENT/i.test(cause)
        ? "no such socket (is the agent running?)"
        : /refused/i.test(cause)
        ? "connection refused (is the agent running?)"
        : cause;
      throw new ApiClientError(`cannot reach agent at ${this.where}: ${hint}`);
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as ErrorBody).error.message;
      } catch {
        // not JSON: keep the text
      }
      throw new ApiClientError(message || `HTTP ${res.status}`, res.status);
    }
    return res;
  }

  async json<T>(method: "GET" | "POST", path: string, body?: string): Promise<T> {
    return await (await this.request(method, path, body)).json() as T;
  }

  async text(path: string): Promise<string> {
    return await (await this.request("GET", path)).text();
  }

  [Symbol.dispose](): void {
    this.#client?.close();
  }
}

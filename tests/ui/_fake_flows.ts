// A stand-in for the agent while testing the UI without a lab: a loopback server with the real
// UI routes and a fake flow API (/v1/flows, `last`, `follow` and the agent's filters) over a
// fixed list of realistic flows. Flows pushed later go to open follow streams, as new datapath
// events would.
import { Hono } from "hono";
import { errorBody } from "../../core/api/errors.ts";
import { compileFilters, FlowFilterError } from "../../core/flows/filter.ts";
import type { Flow } from "../../core/flows/flow.ts";
import { parseFlowQuery } from "../../core/flows/query.ts";
import { uiRoutes } from "../../core/ui/mod.ts";

export interface FakeFlows extends AsyncDisposable {
  /** The UI's address, http://127.0.0.1:<port>/ui/ */
  readonly url: string;
  /** Every /v1/flows request, in order. */
  readonly requests: FlowRequest[];
  /** Adds flows, sending them to the follow streams whose filters match. */
  push(...flows: Flow[]): void;
  /** Reports lost events on the follow streams. */
  lose(n: number): void;
  close(): Promise<void>;
}

export interface FlowRequest {
  url: URL;
  authorization: string | null;
}

type Filter = (f: Flow) => boolean;
type Follower = { match: Filter; send: (msg: unknown) => void; end: () => void };

export function serveFakeFlows(initial: readonly Flow[]): FakeFlows {
  const flows = [...initial];
  const requests: FlowRequest[] = [];
  const followers = new Set<Follower>();
  const app = new Hono();
  app.route("/", uiRoutes());
  app.get("/v1/flows", (c) => {
    const url = new URL(c.req.url);
    requests.push({ url, authorization: c.req.header("authorization") ?? null });
    const parsed = parseFilters(url.searchParams);
    if ("error" in parsed) return c.json(errorBody("invalid", parsed.error, parsed.field), 400);
    if (url.searchParams.get("follow") === "true") {
      let follower: Follower | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          follower = {
            match: parsed.match,
            send: (msg) => ctl.enqueue(new TextEncoder().encode(`${JSON.stringify(msg)}\n`)),
            end: () => ctl.close(),
          };
          followers.add(follower);
        },
        cancel() {
          if (follower) followers.delete(follower);
        },
      });
      return c.body(body, 200, { "content-type": "application/x-ndjson" });
    }
    const last = Number(url.searchParams.get("last") ?? 20);
    const matching = flows.filter(parsed.match);
    return c.json({ flows: matching.slice(-last), stats: { seen: flows.length } });
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
  const close = async () => {
    const done = server.shutdown();
    for (const f of followers) f.end(); // follow streams never end by themselves
    followers.clear();
    await done;
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/ui/`,
    requests,
    push(...more) {
      flows.push(...more);
      for (const f of more) {
        for (const follower of followers) if (follower.match(f)) follower.send({ flow: f });
      }
    },
    lose(n) {
      for (const follower of followers) follower.send({ lost_events: { num_events_lost: n } });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The agent's own filter parsing and matching (core/flows), so the fake answers as it does. */
function parseFilters(q: URLSearchParams): { match: Filter } | { error: string; field: string } {
  try {
    return { match: compileFilters(parseFlowQuery(q).filters) };
  } catch (err) {
    if (err instanceof FlowFilterError) return { error: err.message, field: err.field };
    throw err;
  }
}

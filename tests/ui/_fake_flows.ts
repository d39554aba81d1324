// A stand-in for the agent while testing the UI without a lab: a loopback server with the real
// UI routes and a fake flow API (/v1/flows, `last`, `follow` and a subset of the filters) over a
// fixed list of realistic flows. Flows pushed later go to open follow streams, as new datapath
// events would.
import { Hono } from "hono";
import { errorBody } from "../../core/api/errors.ts";
import { type Flow, type FlowEndpoint, type Verdict, VERDICTS } from "../../core/flows/flow.ts";
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

/** Hubble's semantics for the filters the UI tests use: repeated keys OR, different keys AND. */
function parseFilters(q: URLSearchParams): { match: Filter } | { error: string; field: string } {
  const checks: Filter[] = [];
  const keys = new Set([...q.keys()].filter((k) => k !== "last" && k !== "follow"));
  for (const key of keys) {
    const values = q.getAll(key);
    const any = (test: (v: string, f: Flow) => boolean): Filter => (f) =>
      values.some((v) => test(v, f));
    switch (key) {
      case "namespace":
        checks.push(any((v, f) => f.source.namespace === v || f.destination.namespace === v));
        break;
      case "pod":
        checks.push(any((v, f) => podMatches(f.source, v) || podMatches(f.destination, v)));
        break;
      case "from-pod":
        checks.push(any((v, f) => podMatches(f.source, v)));
        break;
      case "to-pod":
        checks.push(any((v, f) => podMatches(f.destination, v)));
        break;
      case "verdict":
        for (const v of values) {
          if (!VERDICTS.includes(v as Verdict)) {
            return {
              error: `Unknown verdict "${v}": one of ${VERDICTS.join(", ")}`,
              field: key,
            };
          }
        }
        checks.push(any((v, f) => f.verdict === v));
        break;
      case "from-ip":
      case "to-ip":
      case "ip": {
        const nets: { base: number; bits: number }[] = [];
        for (const v of values) {
          const net = parseCidr(v);
          if (!net) {
            return { error: `Invalid ${key} "${v}": not an IPv4 address or CIDR`, field: key };
          }
          nets.push(net);
        }
        const side = (f: Flow) =>
          key === "from-ip"
            ? [f.IP?.source]
            : key === "to-ip"
            ? [f.IP?.destination]
            : [f.IP?.source, f.IP?.destination];
        checks.push((f) =>
          nets.some((n) => side(f).some((ip) => ip !== undefined && inCidr(ip, n)))
        );
        break;
      }
      default:
        return { error: `Unknown filter "${key}"`, field: key };
    }
  }
  return { match: (f) => checks.every((c) => c(f)) };
}

function podMatches(ep: FlowEndpoint, v: string): boolean {
  if (!ep.pod_name) return false;
  const [ns, prefix] = v.includes("/") ? v.split("/", 2) : [undefined, v];
  return (ns === undefined || ep.namespace === ns) && ep.pod_name.startsWith(prefix ?? "");
}

function ipv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function parseCidr(s: string): { base: number; bits: number } | undefined {
  const [addr = "", len] = s.split("/");
  const base = ipv4(addr);
  const bits = len === undefined ? 32 : /^\d+$/.test(len) ? Number(len) : NaN;
  if (base === undefined || !(bits >= 0 && bits <= 32)) return;
  return { base, bits };
}

function inCidr(ip: string, net: { base: number; bits: number }): boolean {
  const n = ipv4(ip);
  if (n === undefined) return false;
  const size = 2 ** (32 - net.bits);
  return Math.floor(n / size) === Math.floor(net.base / size);
}

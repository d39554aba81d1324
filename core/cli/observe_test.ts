import assert from "node:assert/strict";
import { join } from "node:path";
import { createApiApp } from "../api/app.ts";
import { ApiClient } from "../api/client.ts";
import { serveApi } from "../api/server.ts";
import { fakeBackend } from "../api/_fake_backend.ts";
import { makeFlow } from "../flows/_testing.ts";
import { FlowObserver } from "../flows/observer.ts";
import { configSchema } from "../config/schema.ts";
import { parseArgs } from "./args.ts";
import { main } from "./main.ts";
import {
  observe,
  OBSERVE_BOOLEANS,
  OBSERVE_FLAGS,
  observeParams,
  rewriteObserveArgs,
} from "./observe.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

async function withAgent(
  fn: (socket: string, backend: ReturnType<typeof fakeBackend>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-observe-" });
  const backend = fakeBackend();
  const socket = join(dir, "api.sock");
  const server = await serveApi(createApiApp(backend), { socketPath: socket });
  try {
    await fn(socket, backend);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hypha observe prints the last 20 flows, compact by default", async () => {
  await withAgent(async (socket, backend) => {
    for (let i = 0; i < 25; i++) backend.observer.add(makeFlow({ at: i }));
    const c = capture();
    assert.equal(await main(["observe", "--socket", socket], c.io), 0);
    assert.equal(c.out.length, 20);
    assert.match(
      c.out[0]!,
      /^\w{3} [ \d]\d \d\d:\d\d:\d\d\.\d{3}: shop\/web-7d9f8-abcde:51234 \(ID:256\) -> shop\/db-0:5432 \(ID:257\) to-endpoint FORWARDED \(TCP Flags: SYN\)$/,
    );
  });
});

Deno.test("hypha observe filters with repeated flags, --not and -o table|json", async () => {
  await withAgent(async (socket, backend) => {
    backend.observer.add(makeFlow({ at: 1 }));
    backend.observer.add(makeFlow({ at: 2, verdict: "DROPPED" }));
    backend.observer.add(makeFlow({ at: 3, verdict: "ERROR" }));
    backend.observer.add(
      makeFlow({ at: 4, verdict: "DROPPED", destination: { namespace: "kube-system" } }),
    );
    const run = async (...args: string[]) => {
      const c = capture();
      assert.equal(await main(["observe", "--socket", socket, ...args], c.io), 0, c.err.join());
      return c.out;
    };
    const json = await run(
      "--verdict",
      "DROPPED",
      "--verdict",
      "ERROR",
      "--not",
      "--to-namespace",
      "kube-system",
      "-o",
      "json",
    );
    assert.deepEqual(json.map((l) => JSON.parse(l).flow.verdict), ["DROPPED", "ERROR"]);
    assert.deepEqual(Object.keys(JSON.parse(json[0]!)), ["flow", "node_name", "time"]);
    const table = await run("--verdict", "DROPPED", "-o", "table");
    assert.match(table[0]!, /^TIMESTAMP\s+SOURCE\s+DESTINATION\s+TYPE\s+VERDICT\s+SUMMARY\n/);
    assert.equal(table[0]!.split("\n").length, 3);
    assert.equal((await run("--first", "1", "-o", "json")).length, 1);
  });
});

Deno.test("hypha observe checks its flags before asking the agent", async () => {
  for (
    const [args, message] of [
      [["--verdict", "NOPE"], /hypha: Invalid --verdict "NOPE": must be one of FORWARDED/],
      [["--from-ip", "10.0.0.0/99"], /Invalid --from-ip "10\.0\.0\.0\/99"/],
      [["--last", "0"], /Invalid --last "0": must be a positive integer/],
      [["--since", "2026-12-05T11:00:00Z", "--until", "2026-12-05T10:00:00Z"], /is after --until/],
      [["-o", "yaml"], /output "yaml" must be one of compact, table, json/],
      [["--not"], /"--not" must be followed by a filter flag/],
      [["--frm-pod", "x"], /unknown flag "--frm-pod"/],
    ] as const
  ) {
    const c = capture();
    const code = await main(["observe", "--socket", "/nonexistent/api.sock", ...args], c.io);
    assert.equal(code, 2, `${args.join(" ")}: ${c.err.join()}`);
    assert.match(c.err.join("\n"), message);
  }
});

Deno.test("observeParams() turns flags into the API's query", () => {
  const spec = { values: { ...OBSERVE_FLAGS, output: { short: "o" } }, booleans: OBSERVE_BOOLEANS };
  const params = (args: string[]) =>
    observeParams(parseArgs(rewriteObserveArgs(["observe", ...args]), spec)).toString();
  assert.equal(params([]), "last=20");
  assert.equal(params(["--pod", "a/b", "--pod", "c/d"]), "pod=a%2Fb&pod=c%2Fd&last=20");
  assert.equal(params(["-f"]), "follow=true");
  assert.equal(params(["-f", "--last", "3"]), "last=3&follow=true");
  assert.equal(params(["--since", "5m"]), "since=5m");
  assert.equal(params(["--not", "--verdict", "FORWARDED"]), "not-verdict=FORWARDED&last=20");
  assert.equal(params(["--cluster"]), "cluster=true&last=20");
});

Deno.test("hypha observe --follow prints flows as they come until stopped", async () => {
  await withAgent(async (socket, backend) => {
    backend.observer.add(makeFlow({ at: 1 }));
    const spec = {
      values: { ...OBSERVE_FLAGS, output: { short: "o" } },
      booleans: OBSERVE_BOOLEANS,
    };
    const p = parseArgs(["observe", "--follow", "--last", "1", "--verdict", "DROPPED"], spec);
    const c = capture();
    const ac = new AbortController();
    using client = new ApiClient({ socket });
    const done = observe(p, client, c.io, { signal: ac.signal, utc: true });
    const wait = async (n: number) => {
      const deadline = Date.now() + 5000;
      while (c.out.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    };
    while (backend.observer.stats().subscribers.length === 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
    backend.observer.add(makeFlow({ at: 2, verdict: "DROPPED" }));
    backend.observer.add(makeFlow({ at: 3 }));
    backend.observer.add(makeFlow({ at: 4, verdict: "DROPPED" }));
    await wait(2);
    backend.observer.reportLost("PERF_EVENT_RING_BUFFER", 5);
    const deadline = Date.now() + 5000;
    while (c.err.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    assert.equal(await done, 0);
    assert.equal(c.out.length, 2);
    assert.match(c.out[0]!, /^Dec {2}5 10:15:44\.000: .* DROPPED \(TCP Flags: SYN\)$/);
    assert.match(c.err[0]!, /EVENTS LOST: PERF_EVENT_RING_BUFFER 5 events lost/);
    const gone = Date.now() + 5000;
    while (backend.observer.stats().subscribers.length > 0 && Date.now() < gone) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(backend.observer.stats().subscribers.length, 0, "the agent ended the stream");
  });
});

Deno.test("hypha observe --cluster says when the answer was cut at maxFlows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-observe-" });
  const observer = new FlowObserver({
    nodeName: "n1",
    config: configSchema.parse({ observability: { peer: { maxFlows: 3 } } }).observability,
    nodes: () => [{ name: "n2", addresses: ["192.0.2.2"] }],
  });
  const socket = join(dir, "api.sock");
  const server = await serveApi(createApiApp(fakeBackend({ flows: () => observer })), {
    socketPath: socket,
  });
  try {
    for (let i = 0; i < 5; i++) observer.add(makeFlow({ at: i }));
    const c = capture();
    assert.equal(await main(["observe", "--socket", socket, "--cluster", "--last", "50"], c.io), 0);
    assert.equal(c.out.length, 3);
    assert.deepEqual(c.err, [
      "hypha: node n2: no flows: not asked over plain http (192.0.2.2 is not loopback): set " +
      "observability.peer.tls (or observability.peer.insecure: true)",
      "hypha: more flows matched than the cluster view gives (at most 3, " +
      "observability.peer.maxFlows): these are the most recent; narrow the query (filters, " +
      "--since/--until) for the rest",
    ]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

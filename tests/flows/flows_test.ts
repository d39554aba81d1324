// Flows in a two-node lab with real traffic: what the datapath reports (trace, drop and policy
// verdict events, aggregated per connection), how the agents decode and enrich them, the filters
// of `hypha observe`, the cluster view, the export file and the flow metrics (checked with
// promtool).
import assert from "node:assert/strict";
import { join } from "node:path";
import { ApiClient } from "../../core/api/client.ts";
import type { Flow } from "../../core/flows/flow.ts";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { waitFor } from "../lab/wait.ts";
import { waitConverged } from "../lab/converge.ts";

const POLICY = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-in, namespace: x}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: client}}]
      toPorts: [{ports: [{port: "80", protocol: TCP}]}]
  ingressDeny:
    - fromEndpoints: [{matchLabels: {app: intruder}}]
`;

Deno.test("flows: trace, drop and policy events from real traffic, filtered and exported", async (t) => {
  await using lab = await Lab.create({
    nodes: 2,
    etcd: 1,
    nodeConfig: {
      observability: {
        export: { path: "/tmp/hypha-flows-export.json" },
        monitor: { interval: 1 },
      },
    },
  });
  // each node its own export file (the config is shared)
  for (const n of lab.nodes.values()) {
    const text = await Deno.readTextFile(n.configFile);
    await Deno.writeTextFile(
      n.configFile,
      text.replace("/tmp/hypha-flows-export.json", join(n.dir, "flows.json")),
    );
  }
  await lab.startAgents();
  const client = await lab.addPod("n1", "x/client", { labels: { app: "client" } });
  const intruder = await lab.addPod("n1", "x/intruder", { labels: { app: "intruder" } });
  const server = await lab.addPod("n2", "x/server", { labels: { app: "server" } });
  await using _s = await rrServe(server.ns, { port: 80 });
  // n1 names the remote pod only once it has n2's endpoints; the route must be there too
  await waitConverged(lab);

  const observe = async (node: string, args: string[]) => {
    const r = await lab.hypha(node, ["observe", "-o", "json", "--last", "1000", ...args]);
    return r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).flow as Flow);
  };
  const tcpPort = (f: Flow) => (f.l4 && "TCP" in f.l4 ? f.l4.TCP.destination_port : undefined);

  await t.step("a connection is reported where it leaves and where it arrives", async () => {
    const r = await rrClient(client.ns, {
      host: server.ip,
      port: 80,
      mode: "crr",
      count: 1,
      gracefulClose: true,
    });
    assert.equal(r.ok, 1);
    let out: Flow[] = [];
    await waitFor("n1 reports the connection", async () => {
      out = await observe("n1", ["--from-pod", "x/client", "--to-ip", server.ip]);
      return out.some((f) => f.l4 && "TCP" in f.l4 && f.l4.TCP.flags?.FIN);
    });
    const syn = out.find((f) => tcpPort(f) === 80 && !f.is_reply);
    assert.ok(syn, "the first packet of the connection");
    assert.equal(syn.verdict, "FORWARDED");
    assert.equal(syn.traffic_direction, "EGRESS");
    assert.equal(syn.trace_observation_point, "FROM_ENDPOINT");
    assert.equal(syn.source.pod_name, "client");
    assert.equal(syn.source.namespace, "x");
    assert.ok(syn.source.labels.includes("k8s:app=client"), syn.source.labels.join(","));
    assert.equal(syn.destination.pod_name, "server", "the remote pod is known by its address");
    assert.equal(syn.IP?.ipVersion, "IPv4");
    assert.equal(syn.node_name.endsWith("/n1"), true);
    let arrived: Flow[] = [];
    await waitFor("n2 reports it arriving", async () => {
      arrived = await observe("n2", ["--to-pod", "x/server", "--from-ip", client.ip]);
      return arrived.some((f) => f.trace_observation_point === "TO_ENDPOINT");
    });
    const into = arrived.find((f) => f.trace_observation_point === "TO_ENDPOINT")!;
    assert.equal(into.traffic_direction, "INGRESS");
    assert.equal(into.destination.ID > 0, true, "the local endpoint's id");
  });

  await t.step("a busy connection is aggregated: a few events, with its counts", async () => {
    const r = await rrClient(client.ns, {
      host: server.ip,
      port: 80,
      mode: "rr",
      count: 2000,
      durationS: 30,
    });
    assert.equal(r.ok, 2000);
    let flows: Flow[] = [];
    await waitFor("the close is reported with the connection's counts", async () => {
      flows = (await observe("n1", ["--from-pod", "x/client", "--port", "80"]))
        .filter((f) => f.packets !== undefined && f.packets >= 2000);
      return flows.length > 0;
    });
    // 2000 requests and 2000 responses: one event per packet would be > 4000
    const all = await observe("n1", ["--pod", "x/client", "--to-ip", server.ip, "--type", "trace"]);
    assert.ok(all.length < 200, `${all.length} events for ~4000 packets`);
  });

  await t.step("policy verdicts and drops name the policy and the reason", async () => {
    const file = join(lab.dir, "policy.yaml");
    await Deno.writeTextFile(file, POLICY);
    await lab.hypha("n1", ["policy", "apply", file]);
    await waitFor("the policy is enforced", async () =>
      (await rrClient(intruder.ns, {
        host: server.ip,
        port: 80,
        mode: "probe",
        count: 1,
        timeoutMs: 300,
      })).ok === 0);
    let denied: Flow[] = [];
    await waitFor("n2 reports the policy verdict", async () => {
      denied = await observe("n2", ["--type", "policy-verdict", "--verdict", "DROPPED"]);
      return denied.some((f) => f.ingress_denied_by?.length);
    });
    const verdict = denied.find((f) => f.ingress_denied_by?.length)!;
    assert.deepEqual(verdict.ingress_denied_by, [
      { kind: "CiliumNetworkPolicy", namespace: "x", name: "server-in" },
    ]);
    assert.equal(verdict.source.pod_name, "intruder");
    // the drop events travel the ring buffer on their own: waited for, not assumed
    let drops: Flow[] = [];
    await waitFor("n2 reports the drops themselves", async () => {
      drops = await observe("n2", ["--type", "drop", "--from-label", "app=intruder"]);
      return drops.length > 0;
    });
    assert.equal(drops[0]!.drop_reason_desc, "POLICY_DENIED");
    assert.ok(
      ["TO_ENDPOINT", "FROM_OVERLAY"].includes(drops[0]!.trace_observation_point),
      `dropped on its way in: ${drops[0]!.trace_observation_point}`,
    );
    // the allowed client still gets through, with an allowing verdict
    const ok = await rrClient(client.ns, { host: server.ip, port: 80, mode: "crr", count: 1 });
    assert.equal(ok.ok, 1);
    await waitFor(
      "the allowing verdict",
      async () =>
        (await observe("n2", ["--type", "policy-verdict", "--verdict", "FORWARDED"]))
          .some((f) =>
            f.ingress_allowed_by?.[0]?.name === "server-in" && f.policy_match_type === 2
          ),
    );
  });

  await t.step("filters combine as Hubble's: repeated flags OR, different flags AND", async () => {
    const both = await observe("n2", ["--from-pod", "x/client", "--from-pod", "x/intruder"]);
    const pods = new Set(both.map((f) => f.source.pod_name));
    assert.ok(pods.has("client") && pods.has("intruder"), [...pods].join(","));
    const and = await observe("n2", ["--from-pod", "x/intruder", "--verdict", "DROPPED"]);
    assert.ok(and.length > 0, "the intruder's drops");
    assert.ok(and.every((f) => f.source.pod_name === "intruder" && f.verdict === "DROPPED"));
    const cidr = await observe("n2", [
      "--from-ip",
      `${client.ip}/32`,
      "--not",
      "--verdict",
      "DROPPED",
    ]);
    assert.ok(cidr.length > 0, "the client's flows");
    assert.ok(cidr.every((f) => f.IP?.source === client.ip && f.verdict !== "DROPPED"));
  });

  await t.step("bad filters are refused with the flag and the reason", async () => {
    const bad = async (args: string[], message: RegExp) => {
      const r = await lab.hypha("n1", ["observe", ...args], { allowFail: true });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr + r.stdout, message);
    };
    await bad(["--from-ip", "10.0.0.0/33"], /from-ip/);
    await bad(["--verdict", "MAYBE"], /verdict/);
    await bad(["--since", "2026-12-05T10:00:00Z", "--until", "2026-12-05T09:00:00Z"], /since/);
  });

  await t.step(
    "a follower that stops reading loses flows alone, and is removed when gone",
    async () => {
      const n1 = lab.node("n1");
      using api = new ApiClient({ socket: n1.socket });
      const stats = () =>
        api.json<{ subscribers: Array<{ id: number; lost: number; queued: number }> }>(
          "GET",
          "/v1/flows/stats",
        );
      // a reader that asks to follow, then never reads a byte
      const stuck = await Deno.connect({ transport: "unix", path: n1.socket });
      await stuck.write(
        new TextEncoder().encode("GET /v1/flows?follow=true HTTP/1.1\r\nHost: hypha\r\n\r\n"),
      );
      await waitFor(
        "the follower is subscribed",
        async () => (await stats()).subscribers.length === 1,
      );
      // meanwhile a reader that keeps up: it must see every flow of the burst
      const live = new Deno.Command("curl", {
        args: [
          "-sN",
          "--unix-socket",
          n1.socket,
          "http://hypha/v1/flows?follow=true&from-pod=x/client",
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let received = 0; // read as it comes: this reader keeps up
      const reading = live.stdout.pipeTo(
        new WritableStream({
          write(chunk) {
            for (const b of chunk) if (b === 10) received++;
          },
        }),
      ).catch(() => {});
      await waitFor(
        "both followers are subscribed",
        async () => (await stats()).subscribers.length === 2,
      );
      // paced (one connection per 2 ms, ~3 s): a reader that keeps up is not outrun by a
      // 2-core machine's scheduler, and the stuck one still overflows its queue of 1,000
      const burst = await rrClient(client.ns, {
        host: server.ip,
        port: 80,
        mode: "probe",
        intervalMs: 2,
        count: 1500,
        durationS: 30,
      });
      assert.equal(burst.ok, 1500);
      await waitFor(
        "the stuck follower has lost flows",
        async () => (await stats()).subscribers.some((s) => s.lost > 0),
      );
      // the agent still answers, and the other follower got the whole burst
      const recent = await observe("n1", ["--from-pod", "x/client"]);
      assert.equal(recent.length, 1000, "the agent answers, the burst is stored");
      const subs = (await stats()).subscribers;
      const keptUp = subs.find((s) => s.lost === 0);
      assert.ok(keptUp, `the reader that keeps up lost nothing: ${JSON.stringify(subs)}`);
      assert.ok(received >= 1500, `the reader that keeps up got ${received} flows`);
      live.kill("SIGTERM");
      await live.status;
      await reading;
      stuck.close();
      await waitFor(
        "both followers are gone",
        async () => (await stats()).subscribers.length === 0,
      );
    },
  );

  await t.step("the cluster view merges every node's flows", async () => {
    const r = await lab.hypha("n1", ["observe", "--cluster", "-o", "json", "--last", "1000"]);
    const nodes = new Set(
      r.stdout.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l).flow.node_name),
    );
    assert.deepEqual([...nodes].map((n) => n.split("/").pop()).sort(), ["n1", "n2"]);
  });

  await t.step("every flow is exported as NDJSON", async () => {
    // the exporter writes behind the store: wait for its first line
    let lines: string[] = [];
    await waitFor("n2 has exported flows", async () => {
      lines = (await Deno.readTextFile(join(lab.node("n2").dir, "flows.json")))
        .split("\n").filter((l) => l.trim());
      return lines.length > 0;
    });
    const first = JSON.parse(lines[0]!);
    assert.ok(first.flow.verdict && first.flow.node_name && first.time, lines[0]);
  });

  await t.step("metrics follow Prometheus conventions (promtool) and count flows", async () => {
    using api = new ApiClient({ socket: lab.node("n2").socket });
    const text = await api.text("/metrics");
    const p = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const out = await p.output();
    const problems = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, problems);
    const value = (re: RegExp) => Number(text.match(re)?.[1] ?? NaN);
    assert.ok(
      value(/^hypha_flows_processed_total\{type="policy-verdict",verdict="DROPPED"\} (\d+)/m) > 0,
    );
    assert.ok(
      value(/^hypha_drop_packets_total\{reason="POLICY_DENIED",direction="\w+"\} (\d+)/m) > 0,
    );
    assert.ok(value(/^hypha_forward_packets_total\{direction="ingress"\} (\d+)/m) > 0);
    assert.ok(
      value(/^hypha_endpoint_regenerations_total\{trigger="policy",outcome="changed"\} (\d+)/m) > 0,
    );
    assert.match(
      text,
      /^hypha_endpoint_regeneration_duration_seconds_bucket\{trigger="created",le="\+Inf"\} \d+/m,
    );
    assert.match(text, /^hypha_flow_events_lost_total\{source="ring_buffer"\} \d+/m);
    assert.match(text, /^hypha_conntrack_entries \d+/m);
    assert.match(text, /^hypha_bpf_map_fill_ratio\{map="hypha_ct",owner="core"\} /m);
  });
});

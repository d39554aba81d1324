// What flow events cost the datapath, in one two-node lab: connection rate (connect, one
// request/response, close) and TCP throughput between pods with events at the default
// aggregation (monitor level medium) vs events off (level off), on one node and across nodes,
// alternating ROUNDS times (medians). And the event rate at which the ring buffer starts to
// lose events: UDP between two pods at level none (an event per packet per hook) at rising
// packet rates, counting what the datapath queued and what it could not.
import YAML from "yaml";
import { ApiClient } from "../../core/api/client.ts";
import { Lab } from "../../tests/lab/lab.ts";
import { iperfClient, iperfServe } from "../../tests/lab/iperf.ts";
import { rrClient, rrServe } from "../../tests/lab/rr.ts";
import { median, newReport, type Report, row } from "../lib/report.ts";

const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 3);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const RATES = (Deno.env.get("BENCH_FLOW_RATES") ?? "25000,50000,100000,200000,400000")
  .split(",").map(Number);

async function setLevel(lab: Lab, level: string): Promise<void> {
  for (const n of lab.nodes.values()) {
    const cfg = YAML.parse(await Deno.readTextFile(n.configFile));
    cfg.observability = { ...cfg.observability, monitor: { level } };
    await Deno.writeTextFile(n.configFile, YAML.stringify(cfg));
  }
  await Promise.all([...lab.nodes.values()].map(async (n) => {
    await n.agent.stop();
    await n.agent.start();
  }));
}

async function datapathStats(lab: Lab, node: string) {
  using api = new ApiClient({ socket: lab.node(node).socket });
  const s = await api.json<{ seen: number; datapath: { sent: number; lost: number } }>(
    "GET",
    "/v1/flows/stats",
  );
  return {
    sent: s.datapath.sent,
    lost: s.datapath.lost,
    decoded: s.seen,
  };
}

export async function benchFlowOverhead(): Promise<Report[]> {
  await using lab = await Lab.create({ nodes: 2 });
  await lab.startAgents();
  const a = await lab.addPod("n1", "bench/a");
  const b = await lab.addPod("n1", "bench/b");
  const c = await lab.addPod("n2", "bench/c");
  const paths = { "same node": b, "across nodes": c };

  const samples: Record<string, Record<string, number[]>> = { off: {}, medium: {} };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? ["medium", "off"] : ["off", "medium"];
    for (const level of order) {
      await setLevel(lab, level);
      for (const [path, to] of Object.entries(paths)) {
        const put = (metric: string, v: number) =>
          (samples[level]![`${path} ${metric}`] ??= []).push(v);
        {
          await using _s = await rrServe(to.ns, { port: 7200 });
          const r = await rrClient(a.ns, {
            host: to.ip,
            port: 7200,
            mode: "crr",
            durationS: SECONDS,
          });
          put("connection rate (crr)", r.ratePerS);
        }
        const server = await iperfServe(to.ns);
        const t = await iperfClient(a.ns, to.ip, { seconds: SECONDS });
        await server.done;
        if (t.error) throw new Error(`iperf3: ${t.error}`);
        put("TCP throughput, 1 stream", t.bitsPerSecond / 1e9);
      }
    }
  }
  const overhead = newReport("flows_overhead", "events off");
  for (const metric of Object.keys(samples.off!)) {
    overhead.rows.push(
      row(
        metric,
        metric.includes("throughput") ? "Gbit/s" : "connections/s",
        median(samples.off![metric]!),
        median(samples.medium![metric]!),
        { goal: ">= 0.95x" },
      ),
    );
  }
  overhead.notes.push(
    `hypha: observability.monitor.level medium (the default: new, close and periodic reports ` +
      `per connection, policy verdicts, drops); baseline: level off, same lab and agents. ` +
      `${ROUNDS} alternating rounds of ${SECONDS} s, medians. crr: a new TCP connection per ` +
      `transaction (connect, 1-byte request and response, close).`,
  );

  // Ring buffer loss: level none, UDP a -> b on one node at rising packet rates.
  await setLevel(lab, "none");
  const loss = newReport("flows_ring_loss", "events queued by the datapath");
  for (const pps of RATES) {
    const before = await datapathStats(lab, "n1");
    const server = await iperfServe(b.ns);
    const r = await iperfClient(a.ns, b.ip, {
      seconds: SECONDS,
      udp: { bitsPerSecond: pps * 64 * 8, length: 64 },
    });
    await server.done;
    if (r.error) throw new Error(`iperf3 udp: ${r.error}`);
    await new Promise((res) => setTimeout(res, 1500)); // the reader drains what is queued
    const after = await datapathStats(lab, "n1");
    const offered = (after.sent + after.lost - before.sent - before.lost) / SECONDS;
    const kept = (after.decoded - before.decoded) / SECONDS;
    const lostPct = 100 * (after.lost - before.lost) /
      Math.max(1, after.sent + after.lost - before.sent - before.lost);
    loss.rows.push(
      row(
        `UDP ${pps.toLocaleString("en-US")} packets/s offered (${
          Math.round((r.packets ?? 0) / SECONDS).toLocaleString("en-US")
        } sent), ${lostPct.toFixed(2)}% events lost`,
        "events/s",
        offered,
        kept,
      ),
    );
  }
  loss.notes.push(
    "monitor level none: one event per packet at every hook it passes. baseline: events the " +
      "datapath produced per second (queued + lost for a full ring buffer, hypha_event_stats); " +
      "hypha: events the agent decoded and stored per second. Ratio < 1.00 means the 4 MiB " +
      "ring buffer (about 30,000 events) overflowed: that rate is where losses start. The " +
      "sender, the datapath and the agent share the machine's CPUs.",
  );
  return [overhead, loss];
}

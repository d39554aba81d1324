// The decode pipeline on one core: real flow events (bpf/bench/flow_events.c through
// BPF_PROG_TEST_RUN) read from the ring buffer, decoded with a node's state as context and
// stored, beside reading the same events without decoding (the floor: what the ring buffer and
// the FFI callback cost). Goal: >= 500k events/s decoded and stored.
import { bootToWallNs, RingBuffer } from "../../core/bpf/mod.ts";
import { NodeFlowContext } from "../../core/flows/context.ts";
import { FlowDecoder } from "../../core/flows/decode.ts";
import { FlowStore } from "../../core/flows/store.ts";
import { newReport, type Report, row } from "../lib/report.ts";
import { benchState, EventSource } from "./event_source.ts";

const EVENTS = Number(Deno.env.get("BENCH_FLOW_EVENTS") ?? 1_000_000);
/** Events queued per round: well inside the 4 MiB ring (136 bytes each). */
const ROUND = 20_000;

/** Events per second through `consume` over EVENTS events, queued ROUND at a time. */
function rate(source: EventSource, rb: RingBuffer): number {
  let done = 0;
  let ms = 0;
  for (let round = 0; done < EVENTS; round++) {
    source.emit(ROUND, 40000 + (round % 20000)); // producing is not timed
    const t0 = performance.now();
    const n = rb.consume();
    ms += performance.now() - t0;
    if (n !== ROUND) throw new Error(`read ${n} events of ${ROUND}`);
    done += n;
  }
  return done / (ms / 1000);
}

export async function benchFlowDecode(): Promise<Report> {
  const report = newReport("flows_decode", "ring buffer read only");
  using source = new EventSource();
  const state = benchState();
  using context = new NodeFlowContext({
    nodeName: "n1",
    cluster: "bench",
    state,
    bootToWallNs: bootToWallNs(),
  });
  const decoder = new FlowDecoder(context);
  const store = new FlowStore({ capacity: 10_000, nodeName: "bench/n1" });
  await using floor = new RingBuffer(source.events, () => {}, { reuse: true });
  await using pipeline = new RingBuffer(
    source.events,
    (record) => store.add(decoder.decode(record)),
    { reuse: true },
  );
  // warm-up: JIT and the store filled to capacity (eviction is the steady state)
  source.emit(ROUND);
  pipeline.consume();
  const base = rate(source, floor);
  const hypha = rate(source, pipeline);
  const last = store.query(undefined, { last: 1 })[0]!;
  if (last.source.pod_name !== "web-7d4f9c-abcde" || last.l4 === undefined) {
    throw new Error(`decoded flow is not the expected one: ${JSON.stringify(last)}`);
  }
  report.rows.push(
    row("events read, decoded and stored, one core", "events/s", base, hypha, {
      goal: ">= 500,000 events/s",
    }),
  );
  report.notes.push(
    `${EVENTS.toLocaleString("en-US")} events from bpf/bench/flow_events.c (trace.h's ` +
      `trace_flow via BPF_PROG_TEST_RUN), read ${ROUND.toLocaleString("en-US")} at a time; ` +
      "baseline: the same ring buffer read with a callback that only counts (the FFI floor); " +
      "hypha: decoded with a node state (endpoints, identities) into Hubble-style flows and " +
      "stored in a 10,000-flow store. Producing events is not timed.",
  );
  return report;
}

// The decode pipeline on one core: real flow events (bpf/bench/flow_events.c through
// BPF_PROG_TEST_RUN) read from the ring buffer and stored with a node's state as context, beside
// reading the same events without storing them (the floor: what the ring buffer and the FFI
// callback cost). Stored as events (what the agent does when no one follows), and decoded into
// flows as they come (a follower or the export attached); then reading the store back as flows.
// Goal: >= 500k events/s decoded and stored.
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
  const store = new FlowStore({
    capacity: 10_000,
    nodeName: "bench/n1",
    decoder: new FlowDecoder(context),
  });
  await using floor = new RingBuffer(source.events, () => {}, { reuse: true });
  await using stored = new RingBuffer(source.events, (record) => store.addEvent(record), {
    reuse: true,
  });
  await using decoded = new RingBuffer(source.events, (record) => store.addEvent(record, true), {
    reuse: true,
  });
  // warm-up: JIT and the store filled to capacity (eviction is the steady state)
  for (const rb of [stored, decoded]) {
    source.emit(ROUND);
    rb.consume();
  }
  const base = rate(source, floor);
  const asEvents = rate(source, stored);
  const asFlows = rate(source, decoded);
  const t0 = performance.now();
  let read = 0;
  for (let i = 0; i < 20; i++) read += store.query(undefined).length;
  const readRate = read / ((performance.now() - t0) / 1000);
  const last = store.query(undefined, { last: 1 })[0]!;
  if (last.source.pod_name !== "web-7d4f9c-abcde" || last.l4 === undefined) {
    throw new Error(`decoded flow is not the expected one: ${JSON.stringify(last)}`);
  }
  report.rows.push(
    row("events read and stored (no follower), one core", "events/s", base, asEvents),
    row(
      "events read, decoded into flows and stored (as for a follower), one core",
      "events/s",
      base,
      asFlows,
      {
        goal: ">= 500,000 events/s",
      },
    ),
    row("stored events read back as flows (query of 10,000)", "flows/s", null, readRate),
  );
  report.notes.push(
    `${EVENTS.toLocaleString("en-US")} events from bpf/bench/flow_events.c (trace.h's ` +
      `trace_flow via BPF_PROG_TEST_RUN), read ${ROUND.toLocaleString("en-US")} at a time; ` +
      "baseline: the same ring buffer read with a callback that only counts (the FFI floor); " +
      "hypha: stored in a 10,000-flow store with a node state (endpoints, identities) as " +
      "context, kept as events (the agent when no one follows or exports), or also decoded " +
      "into Hubble-style flows at once (a follower or the export attached). Producing events " +
      "is not timed.",
  );
  return report;
}

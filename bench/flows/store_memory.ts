// `deno run -A --v8-flags=--expose-gc bench/flows/store_memory.ts CAPACITY`: fills a flow store
// of CAPACITY with distinct flows (real events, one connection each, kept as the agent keeps
// them) and prints the memory it holds per flow (heap and buffers) and the flows' size as Hubble
// JSON, as one JSON line. Run as its own
// process by store_bench.ts so nothing else is on the heap.
import { bootToWallNs, RingBuffer } from "../../core/bpf/mod.ts";
import { NodeFlowContext } from "../../core/flows/context.ts";
import { FlowDecoder } from "../../core/flows/decode.ts";
import { jsonLine } from "../../core/flows/format.ts";
import { FlowStore } from "../../core/flows/store.ts";
import { benchState, EventSource } from "./event_source.ts";

const capacity = Number(Deno.args[0] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");

using source = new EventSource();
using context = new NodeFlowContext({
  nodeName: "n1",
  cluster: "bench",
  state: benchState(),
  bootToWallNs: bootToWallNs(),
});
const decoder = new FlowDecoder(context);
const newStore = () => new FlowStore({ capacity, nodeName: "bench/n1", decoder });
let store = newStore();
await using rb = new RingBuffer(source.events, (r) => store.addEvent(r), { reuse: true });
const fill = () => {
  for (let i = 0; i < capacity; i += 10_000) {
    const n = Math.min(10_000, capacity - i);
    for (let j = 0; j < n; j++) source.emit(1, 1024 + ((i + j) % 60_000));
    rb.consume();
  }
};
fill(); // warm-up: code, caches and the decoder's shared objects
// the measured store is created after `before`; the warm-up one is gone by then
store = new FlowStore({ capacity: 1, decoder });
const used = () => {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
};
gc();
gc();
const before = used();
store = newStore();
fill();
gc();
gc();
const after = used();
const flows = store.query(undefined, {});
const json = flows.slice(0, 1000).reduce((n, f) => n + jsonLine(f).length + 1, 0) / 1000;
console.log(JSON.stringify({
  capacity,
  stored: flows.length,
  heapBytesPerFlow: (after - before) / flows.length,
  jsonBytesPerFlow: json,
  heapMiB: (after - before) / 2 ** 20,
}));

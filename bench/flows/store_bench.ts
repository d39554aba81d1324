// Memory of the flow store at its configured size: memory held per stored flow (real events,
// each of its own connection, kept as the agent keeps them), measured in a process of its own (store_memory.ts), beside
// the size of the same flow as Hubble JSON (what an NDJSON export line or a relay's message
// costs).
import { join } from "node:path";
import { newReport, type Report, row } from "../lib/report.ts";

const CAPACITIES = [10_000, 100_000];

async function measure(capacity: number) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--expose-gc",
      join(import.meta.dirname!, "store_memory.ts"),
      String(capacity),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`store_memory.ts ${capacity}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text) as {
    stored: number;
    heapBytesPerFlow: number;
    jsonBytesPerFlow: number;
    heapMiB: number;
  };
}

export async function benchFlowStore(): Promise<Report> {
  const report = newReport("flows_store_memory", "Hubble JSON of the flow");
  for (const capacity of CAPACITIES) {
    const m = await measure(capacity);
    report.rows.push(
      row(
        `bytes per stored flow, capacity ${capacity.toLocaleString("en-US")}`,
        "bytes",
        m.jsonBytesPerFlow,
        m.heapBytesPerFlow,
        {
          lowerIsBetter: true,
        },
      ),
      row(`store memory, capacity ${capacity.toLocaleString("en-US")}`, "MiB", null, m.heapMiB),
    );
  }
  report.notes.push(
    "hypha: V8 heap and buffers held by a full store (after GC) per flow: the datapath's " +
      "event (128 bytes) and references to the endpoint, policy and service it was seen with, " +
      "which flows share; Flow objects are made only when read. baseline: the same flow " +
      "serialized as one `hubble observe -o json` line.",
  );
  return report;
}

// What a flow stream carries, in the shape of Hubble's GetFlowsResponse as `hubble observe -o json`
// prints it: `{"flow": {...}, "node_name": "...", "time": "..."}`, and, where events were lost on
// the way, `{"lost_events": {"source": ..., "num_events_lost": n, "cpu": null}, ...}`.
import type { Flow } from "./flow.ts";

/**
 * Where events were lost (Hubble's LostEventSource): the datapath's ring buffer was full
 * (PERF_EVENT_RING_BUFFER), the agent's decoder queue (OBSERVER_EVENTS_QUEUE), or a reader did
 * not keep up with its own queue (HUBBLE_RING_BUFFER: a slow `--follow` client).
 */
export type LostEventSource =
  | "UNKNOWN_LOST_EVENT_SOURCE"
  | "PERF_EVENT_RING_BUFFER"
  | "OBSERVER_EVENTS_QUEUE"
  | "HUBBLE_RING_BUFFER";

export interface FlowRecord {
  flow: Flow;
  node_name: string;
  time: string;
}

export interface LostEventsRecord {
  lost_events: { source: LostEventSource; num_events_lost: number; cpu: number | null };
  node_name: string;
  time: string;
}

export type FlowEvent = FlowRecord | LostEventsRecord;

export function flowRecord(flow: Flow): FlowRecord {
  return { flow, node_name: flow.node_name, time: flow.time };
}

export function lostEventsRecord(
  source: LostEventSource,
  count: number,
  nodeName: string,
  now: Date = new Date(),
): LostEventsRecord {
  return {
    lost_events: { source, num_events_lost: count, cpu: null },
    node_name: nodeName,
    time: now.toISOString(),
  };
}

export function isLostEvents(e: FlowEvent): e is LostEventsRecord {
  return "lost_events" in e;
}

// A bounded table of flow events as the datapath sent them (struct flow_event, bpf/lib/trace.h),
// each with what the node's state said about it when it arrived: the two endpoints, the policy
// rule, the service, where it was seen. FlowDecoder.capture() fills a slot, materialize() makes
// the Flow from it, so flows become objects only when someone reads them. At tens of thousands
// of events a second, a store of decoded Flow objects cost the agent twice the CPU of decoding
// alone (the garbage collector moving every flow it keeps), and most stored flows are never read.
//
// Struct of arrays: bytes in one buffer, references to shared objects in plain arrays, so a slot
// costs no allocation when it is written.
import { flowEvent, flowEventOffsets } from "../bpf/generated/host.ts";
import type { FlowEndpoint, ServiceRef } from "./flow.ts";
import type { RuleInfo } from "./decode.ts";

/** Bytes of one event (struct flow_event). */
export const EVENT_SIZE = flowEvent.size;

export class EventLog {
  readonly capacity: number;
  /** The events' bytes, EVENT_SIZE per slot. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly source: Array<FlowEndpoint | undefined>;
  readonly destination: Array<FlowEndpoint | undefined>;
  /** Policy verdicts: the rule that decided (undefined when unknown). */
  readonly rule: Array<RuleInfo | undefined>;
  /** Translated flows: the service of the original destination. */
  readonly service: Array<ServiceRef | undefined>;
  /** The observation point and traffic direction, as FlowDecoder codes them. */
  readonly where: Uint8Array;
  /** The decoder's sequence number of the event (its flow's uuid). */
  readonly seq: Float64Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.bytes = new Uint8Array(capacity * EVENT_SIZE);
    this.view = new DataView(this.bytes.buffer);
    this.source = new Array(capacity).fill(undefined);
    this.destination = new Array(capacity).fill(undefined);
    this.rule = new Array(capacity).fill(undefined);
    this.service = new Array(capacity).fill(undefined);
    this.where = new Uint8Array(capacity);
    this.seq = new Float64Array(capacity);
  }

  /** Byte offset of a slot's event. */
  offset(slot: number): number {
    return slot * EVENT_SIZE;
  }

  /** The raw verdict code (enum flow_verdict) of a slot's event. */
  verdict(slot: number): number {
    return this.bytes[slot * EVENT_SIZE + flowEventOffsets.verdict]!;
  }
}

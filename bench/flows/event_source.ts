// Real flow events for the decode benchmarks: bpf/bench/flow_events.c run through
// BPF_PROG_TEST_RUN writes one struct flow_event per run into its own hypha_events ring buffer
// (the same trace.h code the datapath runs), and a node state that knows both endpoints.
import { join } from "node:path";
import { BpfObject, codec, testRun } from "../../core/bpf/mod.ts";
import { MAPS, MONITOR_LEVEL, type NodeConfig } from "../../core/bpf/generated/host.ts";
import { createState, type State } from "../../core/state/mod.ts";

const OBJECT = join(import.meta.dirname!, "../../bpf/build/bench/flow_events.o");
const CLIENT_IP = "10.244.0.10";
const SERVER_IP = "10.244.1.20";

/** Ethernet + IPv4 + TCP SYN from CLIENT_IP:`sport` to SERVER_IP:80. */
function tcpSyn(sport: number): Uint8Array<ArrayBuffer> {
  const p = new Uint8Array(14 + 20 + 20);
  const d = new DataView(p.buffer);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  d.setUint16(12, 0x0800);
  p[14] = 0x45;
  d.setUint16(16, 40);
  p[22] = 64; // ttl
  p[23] = 6; // TCP
  p.set([10, 244, 0, 10], 26);
  p.set([10, 244, 1, 20], 30);
  d.setUint16(34, sport);
  d.setUint16(36, 80);
  p[46] = 0x50; // data offset 5
  p[47] = 0x02; // SYN
  return p;
}

export class EventSource implements Disposable {
  readonly obj: BpfObject;
  readonly events;
  constructor() {
    this.obj = BpfObject.open(OBJECT);
    this.obj.load();
    using config = this.obj.map("hypha_config", MAPS.hypha_config.key, MAPS.hypha_config.value);
    const cfg: NodeConfig = {
      flags: 0,
      node_ipv4: 0,
      tunnel_ifindex: 0,
      nat_port_min: 0,
      nat_port_max: 0,
      node_ipv6: [0, 0, 0, 0],
      monitor_level: MONITOR_LEVEL.NONE,
      monitor_interval: 0,
      drop_events: 0,
    };
    config.update(0, cfg);
    this.events = this.obj.map("hypha_events", codec.none, codec.none);
  }

  /** Queues `n` events (one program run each) of a connection from `sport`. */
  emit(n: number, sport = 40000): void {
    const r = testRun(this.obj.program("flow_event_source"), { data: tcpSyn(sport), repeat: n });
    if (r.retval !== 0) throw new Error(`flow_event_source returned ${r.retval}`);
  }

  [Symbol.dispose](): void {
    this.events.close();
    this.obj.close();
  }
}

/** A node state with the two pods of the events (identities 256 and 257). */
export function benchState(): State {
  const state = createState();
  const pod = (id: number, name: string, ip: string, node: string) => {
    state.endpoints.upsert(`${node}/${id}`, {
      node,
      id,
      containerId: `c${id}`,
      ifname: "eth0",
      namespace: "shop",
      pod: name,
      labels: { app: name.split("-")[0]! },
      identity: 255 + id,
      ips: [ip],
    });
    state.identities.upsert(String(255 + id), {
      id: 255 + id,
      labels: { "k8s:app": name.split("-")[0]!, "k8s:io.kubernetes.pod.namespace": "shop" },
    });
  };
  pod(1, "web-7d4f9c-abcde", CLIENT_IP, "n1");
  pod(2, "db-0", SERVER_IP, "n2");
  return state;
}

// The maps bpf_host.o, bpf_lxc.o and bpf_overlay.o share (pinned by name in the node's maps
// directory): node config, endpoints and ipcache as desired tables the agent reconciles, and
// conntrack and NAT, which the datapath writes and the agent only reads and garbage-collects,
// and the flow events ring buffer with its per-CPU counters, which core/flows reads.
import { join } from "node:path";
import { type BpfMap, type BpfObject, codec, possibleCpus } from "../bpf/mod.ts";
import {
  type CtEntry,
  type CtKey,
  type EndpointInfo,
  type EndpointKey,
  type EventStats,
  type IpcacheKey,
  type IpcacheValue,
  MAPS,
  type NatEntry,
  type NodeConfig,
} from "../bpf/generated/host.ts";
import { PolicyMap } from "./policy_map.ts";
import { jsonSafe } from "../json_safe.ts";
import type { OwnedMap } from "../plugin/plugin.ts";
import { DesiredMap } from "../reconcile/desired_map.ts";

const keyId = (k: unknown) => JSON.stringify(k);

export class ClusterMaps {
  readonly config: DesiredMap<number, NodeConfig>;
  readonly endpoints: DesiredMap<EndpointKey, EndpointInfo>;
  readonly ipcache: DesiredMap<IpcacheKey, IpcacheValue>;
  readonly #maps: Array<[string, BpfMap<unknown, unknown>]>;
  readonly ct: BpfMap<CtKey, CtEntry>;
  readonly snat: BpfMap<CtKey, NatEntry>;
  readonly policy: PolicyMap;
  /** Flow events (struct flow_event records): read with a RingBuffer. */
  readonly events: BpfMap<undefined, undefined>;
  readonly eventStats: BpfMap<number, EventStats[]>;
  readonly #mapsDir: string;

  constructor(obj: BpfObject, mapsDir: string) {
    this.#mapsDir = mapsDir;
    const m = MAPS;
    const config = obj.map("hypha_config", m.hypha_config.key, m.hypha_config.value);
    const endpoints = obj.map("hypha_endpoints", m.hypha_endpoints.key, m.hypha_endpoints.value);
    const ipcache = obj.map("hypha_ipcache", m.hypha_ipcache.key, m.hypha_ipcache.value);
    this.ct = obj.map("hypha_ct", m.hypha_ct.key, m.hypha_ct.value);
    this.snat = obj.map("hypha_snat", m.hypha_snat.key, m.hypha_snat.value);
    const policy = obj.map("hypha_policy", m.hypha_policy.key, m.hypha_policy.value);
    this.policy = new PolicyMap(policy);
    this.events = obj.map("hypha_events", codec.none, codec.none);
    this.eventStats = obj.map(
      "hypha_event_stats",
      m.hypha_event_stats.key,
      codec.perCpu(m.hypha_event_stats.value, possibleCpus()),
    );
    this.config = new DesiredMap(config, String);
    this.endpoints = new DesiredMap(endpoints, keyId);
    this.ipcache = new DesiredMap(ipcache, keyId);
    this.#maps = [
      ["hypha_config", config],
      ["hypha_endpoints", endpoints],
      ["hypha_ipcache", ipcache],
      ["hypha_ct", this.ct],
      ["hypha_snat", this.snat],
      ["hypha_policy", policy],
      ["hypha_event_stats", this.eventStats],
    ] as Array<[string, BpfMap<unknown, unknown>]>;
  }

  ownedMaps(): OwnedMap[] {
    return this.#maps.map(([name, map]) => ownedMap(name, map, join(this.#mapsDir, name)));
  }

  close(): void {
    for (const [, map] of this.#maps) map.close();
    this.events.close();
  }
}

/** A map as the registry (API, metrics) sees it. */
export function ownedMap(name: string, map: BpfMap<unknown, unknown>, pinned: string): OwnedMap {
  return {
    name,
    type: map.info.type,
    keySize: map.info.keySize,
    valueSize: map.info.valueSize,
    maxEntries: map.info.maxEntries,
    pinned,
    count: () => map.count(),
    dump: (limit: number) => {
      const out: Array<{ key: unknown; value: unknown }> = [];
      for (const [key, value] of map.entries()) {
        if (out.length >= limit) break;
        out.push({ key: jsonSafe(key), value: jsonSafe(value) });
      }
      return out;
    },
  };
}

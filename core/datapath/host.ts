// The host datapath: bpf_host.o on the node's devices. Loads the object with its maps pinned under
// the node's pin dir (a restarted agent reuses them), writes the device table from desired state,
// attaches ingress/egress programs (adopting existing attachments) and reads the counters.
import { join } from "node:path";
import { bpfObjectBytes } from "../assets.ts";
import {
  BpfMap,
  BpfObject,
  type BpfProgram,
  codec,
  possibleCpus,
  programInfoByFd,
  programInfoById,
  type TcDirection,
  type TcMode,
} from "../bpf/mod.ts";
import { dropReasonName } from "../bpf/generated/drop_reasons.ts";
import {
  type DeviceInfo,
  type IfcounterKey,
  type IfcounterValue,
  type IfdropKey,
  MAPS,
  TRAFFIC,
  type TrafficCount,
} from "../bpf/generated/host.ts";
import type { OwnedMap } from "../plugin/plugin.ts";
import { reconcileMap, type ReconcileResult } from "../reconcile/map_reconciler.ts";
import type { Device } from "../agent/devices.ts";
import { readMac, readSysNumber } from "../netlink/sysfs.ts";
import { ClusterMaps, ownedMap } from "./cluster_maps.ts";
import { type AttachmentStatus, type AttachResult, TcAttachments } from "./tc_attachments.ts";

/** Attachment managers (pin prefixes) of every hypha datapath object, for cleanup. */
/**
 * The tc attachment managers of a node (record prefix -> the start of their programs' kernel
 * names): node devices, endpoint veths, the tunnel device.
 */
export const ATTACHMENT_OWNERS = {
  tc: "hypha_host_",
  lxc: "hypha_lxc_",
  ovl: "hypha_overlay_",
} as const;
export const ATTACHMENT_PREFIXES = Object.keys(ATTACHMENT_OWNERS) as Array<
  keyof typeof ATTACHMENT_OWNERS
>;

const DIRECTIONS: TcDirection[] = ["ingress", "egress"];
const PROGRAMS: Record<TcDirection, string> = {
  ingress: "hypha_host_ingress",
  egress: "hypha_host_egress",
};
const DEVICE_F_COUNT = 0x1;

export interface HostDirs {
  pinDir: string;
  mapsDir: string;
  stateDir: string;
}

export interface HostReconcile {
  devices: ReconcileResult;
  counters: ReconcileResult;
  attachments: AttachResult;
}

export interface InterfaceCounters {
  ifname: string;
  ifindex: number;
  direction: TcDirection;
  packets: number;
  bytes: number;
  drops: number;
  dropsByReason: Record<string, number>;
}

/** Packets a forwarding stage finished at a tc hook: forwarded (reason "") or dropped. */
export interface TrafficRow {
  direction: "ingress" | "egress";
  reason: string;
  packets: number;
  bytes: number;
}

const sum = (xs: bigint[]) => xs.reduce((a, b) => a + b, 0n);

export class HostDatapath implements Disposable {
  readonly #obj: BpfObject;
  readonly #devices: BpfMap<number, DeviceInfo>;
  readonly #counters: BpfMap<IfcounterKey, IfcounterValue[]>;
  readonly #drops: BpfMap<IfdropKey, bigint[]>;
  readonly #traffic: BpfMap<number, TrafficCount[]>;
  /** hypha_hooks: slot -> program (written as an fd, read back as the program id). */
  readonly #hooks: BpfMap<number, number>;
  readonly #attachments: TcAttachments;
  readonly #dirs: HostDirs;
  readonly clusterMaps: ClusterMaps;
  #names = new Map<number, string>();

  private constructor(obj: BpfObject, dirs: HostDirs, mode: TcMode) {
    this.#obj = obj;
    this.#dirs = dirs;
    const cpus = possibleCpus();
    const m = MAPS;
    this.#devices = obj.map("hypha_devices", m.hypha_devices.key, m.hypha_devices.value);
    this.#counters = obj.map(
      "hypha_ifcounters",
      m.hypha_ifcounters.key,
      codec.perCpu(m.hypha_ifcounters.value, cpus),
    );
    this.#drops = obj.map(
      "hypha_ifdrops",
      m.hypha_ifdrops.key,
      codec.perCpu(m.hypha_ifdrops.value, cpus),
    );
    this.#traffic = obj.map(
      "hypha_traffic",
      m.hypha_traffic.key,
      codec.perCpu(m.hypha_traffic.value, cpus),
    );
    this.#hooks = obj.map("hypha_hooks", codec.u32, codec.u32);
    this.#attachments = new TcAttachments(dirs, mode, "tc", ATTACHMENT_OWNERS.tc);
    this.clusterMaps = new ClusterMaps(obj, dirs.mapsDir);
  }

  /**
   * Puts a plugin's program into a hook slot of core's programs (bpf/lib/hooks.h), or empties
   * it. A slot that already holds a program with the same tag (the same instructions, e.g. after
   * an agent restart) is left alone. Returns whether the slot changed.
   */
  setHook(slot: number, program: BpfProgram | null): boolean {
    const current = this.#hooks.lookup(slot);
    if (!program) return current !== undefined && this.#hooks.delete(slot);
    if (current !== undefined) {
      try {
        if (programInfoById(current).tag === programInfoByFd(program.fd).tag) return false;
      } catch {
        // the old program is gone: replace it
      }
    }
    this.#hooks.update(slot, program.fd);
    return true;
  }

  /** Program ids in the hook slots (for status). */
  hooks(): Array<{ slot: number; programId: number }> {
    return [...this.#hooks.entries()].map(([slot, programId]) => ({ slot, programId }));
  }

  /** Opens and loads bpf_host.o, reusing the maps pinned in `dirs.mapsDir`. */
  static load(
    dirs: HostDirs,
    mode: TcMode,
    objectBytes: Uint8Array = bpfObjectBytes("bpf_host"),
  ): HostDatapath {
    Deno.mkdirSync(dirs.mapsDir, { recursive: true });
    const obj = BpfObject.open(objectBytes, { name: "bpf_host.o" });
    try {
      obj.pinMaps(dirs.mapsDir);
      obj.load();
      return new HostDatapath(obj, dirs, mode);
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Makes the kernel match the desired devices: device table, stale counters, attachments. */
  reconcile(devices: Device[], counting: boolean): HostReconcile {
    this.#names = new Map(devices.map((d) => [d.ifindex, d.name]));
    const desired: Array<[number, DeviceInfo]> = devices.map((d) => [d.ifindex, {
      flags: counting ? DEVICE_F_COUNT : 0,
      mtu: readSysNumber(d.name, "mtu"),
      mac: readMac(d.name),
    }]);
    const deviceResult = reconcileMap(this.#devices, desired, { keyId: String });
    // Counters of devices that went away are dropped; the rest are the datapath's to write.
    const wanted = new Set(devices.map((d) => d.ifindex));
    const stale = [...this.#counters.keys()].filter((k) => !wanted.has(k.ifindex));
    for (const k of stale) this.#counters.delete(k);
    for (const k of [...this.#drops.keys()].filter((k) => !wanted.has(k.ifindex))) {
      this.#drops.delete(k);
    }
    const attachments = this.#attachments.reconcile(
      devices.flatMap((d) =>
        DIRECTIONS.map((direction) => ({
          ifname: d.name,
          direction,
          program: this.#obj.program(PROGRAMS[direction]),
        }))
      ),
    );
    return {
      devices: deviceResult,
      counters: { added: 0, updated: 0, removed: stale.length, unchanged: 0, errors: [] },
      attachments,
    };
  }

  counters(): InterfaceCounters[] {
    const rows = new Map<string, InterfaceCounters>();
    const row = (ifindex: number, direction: number) => {
      const dir: TcDirection = direction === 1 ? "egress" : "ingress";
      const id = `${ifindex}/${dir}`;
      let r = rows.get(id);
      if (!r) {
        r = {
          ifname: this.#names.get(ifindex) ?? `if${ifindex}`,
          ifindex,
          direction: dir,
          packets: 0,
          bytes: 0,
          drops: 0,
          dropsByReason: {},
        };
        rows.set(id, r);
      }
      return r;
    };
    for (const [k, perCpu] of this.#counters.entries()) {
      const r = row(k.ifindex, k.direction);
      r.packets = Number(sum(perCpu.map((v) => v.packets)));
      r.bytes = Number(sum(perCpu.map((v) => v.bytes)));
      r.drops = Number(sum(perCpu.map((v) => v.drops)));
    }
    for (const [k, perCpu] of this.#drops.entries()) {
      row(k.ifindex, k.direction).dropsByReason[dropReasonName(k.reason)] = Number(sum(perCpu));
    }
    return [...rows.values()].sort((a, b) =>
      a.ifindex - b.ifindex || a.direction.localeCompare(b.direction)
    );
  }

  /**
   * What the forwarding stages finished (bpf/lib/counters.h hypha_traffic): forwarded packets
   * and drops by reason, per tc hook direction, summed over the CPUs; rows with no packets left
   * out.
   */
  traffic(): TrafficRow[] {
    const rows: TrafficRow[] = [];
    for (const [slot, perCpu] of this.#traffic.entries()) {
      const packets = Number(sum(perCpu.map((v) => v.packets)));
      if (!packets) continue;
      const index = slot % TRAFFIC.SLOTS;
      rows.push({
        direction: slot < TRAFFIC.SLOTS ? "ingress" : "egress",
        reason: index ? dropReasonName(index + TRAFFIC.REASON_BASE) : "",
        packets,
        bytes: Number(sum(perCpu.map((v) => v.bytes))),
      });
    }
    return rows;
  }

  attachments(): AttachmentStatus[] {
    return this.#attachments.list();
  }

  /** The maps this datapath owns, for the map registry (API, metrics, cleanup). */
  ownedMaps(): OwnedMap[] {
    const maps: Array<[string, BpfMap<unknown, unknown>]> = [
      ["hypha_devices", this.#devices as BpfMap<unknown, unknown>],
      ["hypha_ifcounters", this.#counters as BpfMap<unknown, unknown>],
      ["hypha_ifdrops", this.#drops as BpfMap<unknown, unknown>],
      ["hypha_hooks", this.#hooks as BpfMap<unknown, unknown>],
      ["hypha_traffic", this.#traffic as BpfMap<unknown, unknown>],
    ];
    return [
      ...maps.map(([name, map]) => ownedMap(name, map, join(this.#dirs.mapsDir, name))),
      ...this.clusterMaps.ownedMaps(),
    ];
  }

  close(): void {
    this.#devices.close();
    this.#counters.close();
    this.#drops.close();
    this.#hooks.close();
    this.#traffic.close();
    this.clusterMaps.close();
    this.#obj.close(); // programs stay alive through their pinned links
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Removes everything the host datapath put in the kernel for this node. */
  static cleanup(dirs: HostDirs): string[] {
    const removed: string[] = [];
    for (const prefix of ATTACHMENT_PREFIXES) {
      const detached = new TcAttachments(dirs, "auto", prefix, ATTACHMENT_OWNERS[prefix])
        .detachAll();
      if (detached) removed.push(`${detached} ${prefix} attachment(s)`);
    }
    try {
      Deno.removeSync(dirs.pinDir, { recursive: true });
      removed.push(dirs.pinDir);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return removed;
  }
}

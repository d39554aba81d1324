// The load balancer's datapath: bpf_lb.o (core's forwarding stages with the per-packet load
// balancer compiled in) goes into core's hook slots, bpf_sock.o's socket hooks attach to the
// node's cgroup subtree. The plugin's maps (hypha_lb_*) are pinned in its own directory and the
// objects share core's maps by their pins, so a restarted agent adopts everything: a hook slot
// or a cgroup link whose program has the same instructions is left alone. stop() hands the
// packets back to core's stages; remove() also detaches the socket hooks and unpins the maps,
// which the kernel then frees.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bpfObjectBytes } from "../../core/assets.ts";
import {
  attachCgroup,
  attachXdp,
  BpfLink,
  type BpfMap,
  BpfObject,
  type CgroupAttachType,
  codec,
  ifIndex,
  programInfoByFd,
  programInfoById,
} from "../../core/bpf/mod.ts";
import { HOOKS } from "../../core/bpf/generated/hooks.ts";
import type { OwnedMap, PluginDatapath } from "../../core/plugin/mod.ts";
import { ownedMap } from "../../core/datapath/cluster_maps.ts";
import {
  type CtKey,
  type LbAffinity,
  type LbAffinityKey,
  type LbBackend,
  type LbConfig,
  type LbCtEntry,
  type LbFrontend,
  type LbFrontendKey,
  type LbRevEntry,
  type LbSlotKey,
  type LbSockKey,
  type LbSockRev,
  type LbSourceRangeKey,
  MAPS,
} from "./generated/lb.ts";

const isLbMap = (name: string) => name.startsWith("hypha_lb_");

/** Socket hooks: program -> cgroup attach type. */
const SOCKET_HOOKS: Array<[string, CgroupAttachType]> = [
  ["hypha_sock_connect4", "connect4"],
  ["hypha_sock_connect6", "connect6"],
  ["hypha_sock_sendmsg4", "sendmsg4"],
  ["hypha_sock_sendmsg6", "sendmsg6"],
  ["hypha_sock_recvmsg4", "recvmsg4"],
  ["hypha_sock_recvmsg6", "recvmsg6"],
  ["hypha_sock_getpeername4", "getpeername4"],
  ["hypha_sock_getpeername6", "getpeername6"],
];

/** Core hook slot -> the program of bpf_lb.o that takes over there. */
const HOOK_PROGRAMS: Array<[number, string]> = [
  [HOOKS.HOST_INGRESS, "hypha_lb_host_ingress"],
  [HOOKS.LXC_FROM, "hypha_lb_from_container"],
  [HOOKS.OVERLAY_INGRESS, "hypha_lb_overlay_ingress"],
];

export type XdpMode = "off" | "generic" | "native";

export interface LbMaps {
  config: BpfMap<number, LbConfig>;
  frontends: BpfMap<LbFrontendKey, LbFrontend>;
  slots: BpfMap<LbSlotKey, number>;
  backends: BpfMap<number, LbBackend>;
  sourceRanges: BpfMap<LbSourceRangeKey, number>;
  ct: BpfMap<CtKey, LbCtEntry>;
  rev: BpfMap<CtKey, LbRevEntry>;
  sockRev: BpfMap<LbSockKey, LbSockRev>;
  affinity: BpfMap<LbAffinityKey, LbAffinity>;
  /** Frontend id -> inner table: written as a map fd, read back as the map id. */
  maglev: BpfMap<number, number>;
}

export interface AttachReport {
  hooks: number;
  socketLinks: { attached: number; replaced: number; unchanged: number };
  xdp: string[];
}

export class LbDatapath {
  readonly maps: LbMaps;
  readonly #dp: PluginDatapath;
  readonly #lb: BpfObject;
  readonly #sock: BpfObject;

  private constructor(dp: PluginDatapath, lb: BpfObject, sock: BpfObject) {
    this.#dp = dp;
    this.#lb = lb;
    this.#sock = sock;
    const m = MAPS;
    this.maps = {
      config: lb.map("hypha_lb_config", m.hypha_lb_config.key, m.hypha_lb_config.value),
      frontends: lb.map("hypha_lb_frontends", m.hypha_lb_frontends.key, m.hypha_lb_frontends.value),
      slots: lb.map("hypha_lb_slots", m.hypha_lb_slots.key, m.hypha_lb_slots.value),
      backends: lb.map("hypha_lb_backends", m.hypha_lb_backends.key, m.hypha_lb_backends.value),
      sourceRanges: lb.map(
        "hypha_lb_source_ranges",
        m.hypha_lb_source_ranges.key,
        m.hypha_lb_source_ranges.value,
      ),
      ct: lb.map("hypha_lb_ct", m.hypha_lb_ct.key, m.hypha_lb_ct.value),
      rev: lb.map("hypha_lb_rev", m.hypha_lb_rev.key, m.hypha_lb_rev.value),
      sockRev: lb.map("hypha_lb_sock_rev", m.hypha_lb_sock_rev.key, m.hypha_lb_sock_rev.value),
      affinity: lb.map("hypha_lb_affinity", m.hypha_lb_affinity.key, m.hypha_lb_affinity.value),
      maglev: lb.map("hypha_lb_maglev", codec.u32, codec.u32),
    };
  }

  get #mapsDir(): string {
    return join(this.#dp.pinDir, "maps");
  }

  get #linksDir(): string {
    return join(this.#dp.pinDir, "links");
  }

  /** Loads both objects: core's maps from their pins, the plugin's from (or to) its own. */
  static load(dp: PluginDatapath): LbDatapath {
    const mapsDir = join(dp.pinDir, "maps");
    Deno.mkdirSync(mapsDir, { recursive: true });
    const objects: BpfObject[] = [];
    try {
      for (const name of ["bpf_lb", "bpf_sock"]) {
        const obj = BpfObject.open(bpfObjectBytes(name), { name: `${name}.o` });
        objects.push(obj);
        obj.pinMaps(dp.sharedMapsDir, (map) => !isLbMap(map));
        obj.pinMaps(mapsDir, isLbMap);
        obj.load();
      }
      return new LbDatapath(dp, objects[0]!, objects[1]!);
    } catch (err) {
      for (const o of objects) o.close();
      throw err;
    }
  }

  /**
   * Takes over core's hook slots, attaches the socket hooks (when `socketLB`) and the XDP
   * program (when asked). Adopts what an earlier run attached with the same programs.
   */
  attach(opts: { socketLB: boolean; xdp: XdpMode }): AttachReport {
    const report: AttachReport = {
      hooks: 0,
      socketLinks: { attached: 0, replaced: 0, unchanged: 0 },
      xdp: [],
    };
    for (const [slot, program] of HOOK_PROGRAMS) {
      if (this.#dp.setHook(slot, this.#lb.program(program))) report.hooks++;
    }
    Deno.mkdirSync(this.#linksDir, { recursive: true });
    for (const [program, type] of SOCKET_HOOKS) {
      const pin = join(this.#linksDir, `sock_${type}`);
      if (!opts.socketLB) {
        if (existsSync(pin)) BpfLink.openPinned(pin).detach();
        continue;
      }
      report.socketLinks[
        this.#ensureLink(pin, this.#sock.program(program), () => {
          if (!this.#dp.cgroupRoot) {
            throw new Error(
              "no cgroup v2 mount found for the socket hooks: mount cgroup2 or set datapath.cgroupRoot",
            );
          }
          return attachCgroup(this.#sock.program(program), this.#dp.cgroupRoot, type);
        })
      ]++;
    }
    for (const device of this.#dp.devices) {
      const pin = join(this.#linksDir, `xdp_${device}`);
      if (opts.xdp === "off") {
        if (existsSync(pin)) BpfLink.openPinned(pin).detach();
        continue;
      }
      const program = this.#lb.program("hypha_lb_xdp");
      const outcome = this.#ensureLink(
        pin,
        program,
        () =>
          attachXdp(program, ifIndex(device), {
            mode: opts.xdp === "native" ? "driver" : "generic",
          }),
      );
      report.xdp.push(`${device}: ${outcome}`);
    }
    return report;
  }

  #ensureLink(
    pin: string,
    program: { fd: number },
    attach: () => BpfLink,
  ): "attached" | "replaced" | "unchanged" {
    const tag = programInfoByFd(program.fd).tag;
    if (existsSync(pin)) {
      using link = BpfLink.openPinned(pin);
      if (programInfoById(link.info().progId).tag === tag) return "unchanged";
      link.update(program as Parameters<BpfLink["update"]>[0]);
      return "replaced";
    }
    using link = attach();
    link.pin(pin);
    return "attached";
  }

  /** The socket hooks attached now, for status. */
  links(): Array<{ name: string; kind: string; program: string; programId: number }> {
    if (!existsSync(this.#linksDir)) return [];
    const out = [];
    for (
      const e of [...Deno.readDirSync(this.#linksDir)].sort((a, b) => a.name.localeCompare(b.name))
    ) {
      using link = BpfLink.openPinned(join(this.#linksDir, e.name));
      const info = link.info();
      out.push({
        name: e.name,
        kind: info.kind,
        program: programInfoById(info.progId).name,
        programId: info.progId,
      });
    }
    return out;
  }

  /** The plugin's maps for the registry (API, metrics). */
  ownedMaps(): OwnedMap[] {
    return (Object.entries(this.maps) as Array<[string, BpfMap<unknown, unknown>]>).map(
      ([field, map]) => {
        const name = `hypha_lb_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
        return ownedMap(name, map, join(this.#mapsDir, name));
      },
    );
  }

  /** Gives the packets back to core's stages (the hook slots empty). Maps and links stay. */
  release(): void {
    for (const [slot] of HOOK_PROGRAMS) this.#dp.setHook(slot, null);
  }

  close(): void {
    for (const map of Object.values(this.maps)) map.close();
    this.#lb.close();
    this.#sock.close();
  }

  /**
   * Removes everything the plugin put in the kernel: hook slots, socket and XDP links, pinned
   * maps. The kernel frees the programs and maps once nothing refers to them.
   */
  remove(): void {
    this.release();
    if (existsSync(this.#linksDir)) {
      for (const e of Deno.readDirSync(this.#linksDir)) {
        try {
          BpfLink.openPinned(join(this.#linksDir, e.name)).detach();
        } catch {
          Deno.removeSync(join(this.#linksDir, e.name));
        }
      }
    }
    this.close();
    Deno.removeSync(this.#dp.pinDir, { recursive: true });
  }
}

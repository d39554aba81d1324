// Reconciles which tc programs are attached to which interfaces. Attachments are pinned under
// `<pinDir>/links` (tcx) or, for clsact filters (which cannot be pinned), recorded in
// `<stateDir>/tc_filters.json` and found again by handle; so a restarted agent adopts them: a link
// whose program has the same tag is left alone, one whose program changed is replaced atomically
// (make-before-break), one on an interface that is no longer wanted is detached. The clsact record
// is written durably; a damaged one is rebuilt from the kernel (the interfaces whose filter runs
// a program of this manager's) and reported.
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  attachTc,
  BpfLink,
  type BpfProgram,
  findTcFilter,
  ifIndex,
  interfaceNames,
  programInfoByFd,
  programInfoById,
  type TcDirection,
  type TcMode,
} from "../bpf/mod.ts";
import { damagedStateFiles, readStateFileSync, writeStateFileSync } from "../state_files/mod.ts";

const DIRECTIONS: TcDirection[] = ["ingress", "egress"];

/** The clsact record: a list of [ifname, direction] pairs. */
function parseFilters(json: unknown): Array<[string, TcDirection]> {
  const ok = Array.isArray(json) &&
    json.every((f) =>
      Array.isArray(f) && f.length === 2 && typeof f[0] === "string" &&
      (DIRECTIONS as unknown[]).includes(f[1])
    );
  if (!ok) throw new Error('expected a list of ["<interface>", "ingress" | "egress"] pairs');
  return json as Array<[string, TcDirection]>;
}

export interface TcAttachment {
  ifname: string;
  direction: TcDirection;
  program: BpfProgram;
}

export interface AttachmentStatus {
  ifname: string;
  ifindex: number;
  direction: TcDirection;
  kind: "tcx" | "tc";
  program: string;
  programId: number;
}

export interface AttachResult {
  attached: number;
  replaced: number;
  unchanged: number;
  detached: number;
  errors: Array<{ ifname: string; direction: TcDirection; message: string }>;
}

export class TcAttachments {
  readonly #linksDir: string;
  readonly #filtersFile: string;
  readonly #mode: TcMode;
  readonly #prefix: string;
  readonly #programPrefix: string;
  /** The record as last read or written (a write that changes nothing is skipped). */
  #saved: string | undefined;

  /**
   * `prefix` names this manager's pins (`<prefix>_<ifname>_<direction>`) and clsact record, so
   * several managers (node devices, endpoints, the tunnel device) share one pin directory
   * without touching each other's attachments. `programPrefix` starts the (kernel, 15-character)
   * names of the programs this manager attaches: it finds them again when the record is damaged.
   */
  constructor(
    dirs: { pinDir: string; stateDir: string },
    mode: TcMode,
    prefix = "tc",
    programPrefix = "",
  ) {
    this.#linksDir = join(dirs.pinDir, "links");
    this.#filtersFile = join(dirs.stateDir, `${prefix}_filters.json`);
    this.#mode = mode;
    this.#prefix = `${prefix}_`;
    this.#programPrefix = programPrefix;
  }

  /** clsact filters hypha installed: [ifname, direction] pairs. */
  #filters(): Array<[string, TcDirection]> {
    const r = readStateFileSync(this.#filtersFile, parseFilters);
    if (r.kind === "ok") {
      this.#saved = JSON.stringify(r.value);
      return r.value;
    }
    if (r.kind === "missing") return [];
    const found = this.#kernelFilters();
    this.#saveFilters(found);
    damagedStateFiles.report(
      this.#filtersFile,
      r.problem,
      this.#programPrefix
        ? `rebuilt from the kernel: ${found.length} filter(s) running ${this.#programPrefix}* programs`
        : "started empty: filters on interfaces no longer wanted may stay attached",
    );
    return found;
  }

  /** The clsact filters in this namespace that run one of this manager's programs. */
  #kernelFilters(): Array<[string, TcDirection]> {
    if (!this.#programPrefix) return [];
    const found: Array<[string, TcDirection]> = [];
    for (const ifname of interfaceNames()) {
      for (const direction of DIRECTIONS) {
        try {
          const progId = findTcFilter(ifIndex(ifname), direction)?.info().progId;
          if (progId && programInfoById(progId).name.startsWith(this.#programPrefix)) {
            found.push([ifname, direction]);
          }
        } catch {
          // the interface went away meanwhile
        }
      }
    }
    return found;
  }

  #saveFilters(filters: Array<[string, TcDirection]>): void {
    const text = JSON.stringify(filters);
    if (text === this.#saved) return;
    Deno.mkdirSync(join(this.#filtersFile, ".."), { recursive: true });
    writeStateFileSync(this.#filtersFile, text);
    this.#saved = text;
  }

  #pinPath(ifname: string, direction: TcDirection): string {
    return join(this.#linksDir, `${this.#prefix}${ifname}_${direction}`);
  }

  /** Makes the attached set equal to `desired`. Interfaces that fail do not stop the others. */
  reconcile(desired: TcAttachment[]): AttachResult {
    Deno.mkdirSync(this.#linksDir, { recursive: true });
    const result: AttachResult = {
      attached: 0,
      replaced: 0,
      unchanged: 0,
      detached: 0,
      errors: [],
    };
    const wanted = new Set<string>();
    const filters: Array<[string, TcDirection]> = [];
    for (const want of desired) {
      const pin = this.#pinPath(want.ifname, want.direction);
      wanted.add(pin);
      try {
        const [outcome, kind] = this.#ensure(want, pin);
        result[outcome]++;
        if (kind === "tc") filters.push([want.ifname, want.direction]);
      } catch (err) {
        result.errors.push({
          ifname: want.ifname,
          direction: want.direction,
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
    for (const stale of this.#pinnedPaths()) {
      if (wanted.has(stale)) continue;
      BpfLink.openPinned(stale).detach();
      result.detached++;
    }
    const keep = new Set(filters.map((f) => f.join(":")));
    for (const [ifname, direction] of this.#filters()) {
      if (keep.has(`${ifname}:${direction}`)) continue;
      result.detached += detachFilter(ifname, direction);
    }
    this.#saveFilters(filters);
    return result;
  }

  #ensure(
    want: TcAttachment,
    pin: string,
  ): ["attached" | "replaced" | "unchanged", "tcx" | "tc"] {
    const ifindex = ifIndex(want.ifname);
    const tag = programInfoByFd(want.program.fd).tag;
    const existing = this.#existing(pin, ifindex, want.direction);
    if (existing) {
      using link = existing;
      const kind = link.kind === "tc" ? "tc" : "tcx";
      if (programInfoById(link.info().progId).tag === tag) return ["unchanged", kind];
      link.update(want.program);
      return ["replaced", kind];
    }
    using link = attachTc(want.program, ifindex, want.direction, { mode: this.#mode });
    link.pin(pin);
    return ["attached", link.kind === "tc" ? "tc" : "tcx"];
  }

  /** The live attachment for (ifindex, direction), dropping pins whose interface went away. */
  #existing(pin: string, ifindex: number, direction: TcDirection): BpfLink | undefined {
    if (existsSync(pin)) {
      const link = BpfLink.openPinned(pin);
      const info = link.info();
      if (info.ifindex === ifindex && info.direction === direction) return link;
      link.detach(); // interface was recreated: the old link is defunct
    }
    return findTcFilter(ifindex, direction);
  }

  *#pinnedPaths(): Generator<string> {
    if (!existsSync(this.#linksDir)) return;
    for (const e of Deno.readDirSync(this.#linksDir)) {
      if (e.name.startsWith(this.#prefix)) yield join(this.#linksDir, e.name);
    }
  }

  /**
   * Attaches (or adopts, or replaces) one attachment without touching the others: for
   * endpoints, which come and go one at a time. Returns what it did.
   */
  attach(want: TcAttachment): "attached" | "replaced" | "unchanged" {
    Deno.mkdirSync(this.#linksDir, { recursive: true });
    const [outcome, kind] = this.#ensure(want, this.#pinPath(want.ifname, want.direction));
    if (kind === "tc") {
      const filters = this.#filters().filter(([i, d]) =>
        !(i === want.ifname && d === want.direction)
      );
      this.#saveFilters([...filters, [want.ifname, want.direction]]);
    }
    return outcome;
  }

  /** Detaches both directions of one interface (a link whose device is gone is just unpinned). */
  detachInterface(ifname: string): number {
    let n = 0;
    for (const direction of DIRECTIONS) {
      const pin = this.#pinPath(ifname, direction);
      if (existsSync(pin)) {
        try {
          BpfLink.openPinned(pin).detach();
        } catch {
          Deno.removeSync(pin); // defunct link of a deleted device
        }
        n++;
      }
    }
    const filters = this.#filters();
    const keep = filters.filter(([i]) => i !== ifname);
    if (keep.length !== filters.length) {
      for (const [i, d] of filters) if (i === ifname) n += detachFilter(i, d);
      this.#saveFilters(keep);
    }
    return n;
  }

  /** Interfaces with a pinned or recorded attachment of this manager. */
  interfaces(): Set<string> {
    const out = new Set<string>();
    for (const path of this.#pinnedPaths()) {
      out.add(
        path.slice(path.lastIndexOf("/") + 1 + this.#prefix.length).replace(
          /_(ingress|egress)$/,
          "",
        ),
      );
    }
    for (const [ifname] of this.#filters()) out.add(ifname);
    return out;
  }

  /** What is attached now, for status and the API. */
  list(): AttachmentStatus[] {
    const out: AttachmentStatus[] = [];
    for (const path of this.#pinnedPaths()) {
      using link = BpfLink.openPinned(path);
      const info = link.info();
      const ifname = path.slice(path.lastIndexOf("/") + 1 + this.#prefix.length).replace(
        /_(ingress|egress)$/,
        "",
      );
      out.push({
        ifname,
        ifindex: info.ifindex ?? 0,
        direction: info.direction ?? "ingress",
        kind: "tcx",
        program: programInfoById(info.progId).name,
        programId: info.progId,
      });
    }
    for (const [ifname, direction] of this.#filters()) {
      try {
        const ifindex = ifIndex(ifname);
        const progId = findTcFilter(ifindex, direction)?.info().progId;
        if (!progId) continue;
        const program = programInfoById(progId).name;
        out.push({ ifname, ifindex, direction, kind: "tc", program, programId: progId });
      } catch {
        // interface gone
      }
    }
    return out;
  }

  /** Detaches everything this manager owns (used by `hypha cleanup`). */
  detachAll(): number {
    let n = 0;
    for (const path of this.#pinnedPaths()) {
      BpfLink.openPinned(path).detach();
      n++;
    }
    for (const [ifname, direction] of this.#filters()) n += detachFilter(ifname, direction);
    this.#saveFilters([]);
    return n;
  }
}

function detachFilter(ifname: string, direction: TcDirection): number {
  try {
    const filter = findTcFilter(ifIndex(ifname), direction);
    if (!filter) return 0;
    filter.detach();
    return 1;
  } catch {
    return 0; // interface gone: nothing attached
  }
}

// Attaching programs: tc (tcx links where the kernel has them, clsact filters otherwise), XDP and
// cgroup hooks. Link-based attachments (tcx, xdp, cgroup) can be pinned so they outlive the agent;
// an unpinned link is detached when its last fd closes. clsact filters live in the kernel until
// detached and need no pin.
import { closeFd, cstr, lib, readCString } from "./_libbpf.ts";
import { BpfError, bpfError, NotSupportedError } from "./errors.ts";
import type { BpfProgram } from "./object.ts";

export type TcDirection = "ingress" | "egress";
export type TcMode = "auto" | "tcx" | "tc";
export type LinkKind = "tcx" | "tc" | "xdp" | "cgroup";

/** Kernel attach types (include/uapi/linux/bpf.h, enum bpf_attach_type). */
const ATTACH = {
  tcxIngress: 46, // kernel >= 6.6
  tcxEgress: 47,
  xdp: 37,
} as const;

export const CGROUP_ATTACH_TYPES = {
  ingress: 0,
  egress: 1,
  sock_create: 2,
  sock_ops: 3,
  bind4: 8,
  bind6: 9,
  connect4: 10,
  connect6: 11,
  post_bind4: 12,
  post_bind6: 13,
  sendmsg4: 14,
  sendmsg6: 15,
  recvmsg4: 19,
  recvmsg6: 20,
  getpeername4: 29,
  getpeername6: 30,
} as const;
export type CgroupAttachType = keyof typeof CGROUP_ATTACH_TYPES;

// clsact filters hypha installs use this handle and priority, so they can be found again.
export const TC_HANDLE = 0x4859; // "HY"
export const TC_PRIORITY = 1;

let writes = 0;
/** Process-wide count of attach, replace and detach operations (proves idle restarts). */
export function linkWriteCount(): number {
  return writes;
}

export interface LinkInfo {
  kind: LinkKind;
  progId: number;
  ifindex?: number;
  direction?: TcDirection;
}

export class BpfLink implements Disposable {
  readonly kind: LinkKind;
  #fd: number;
  readonly #tc: { ifindex: number; direction: TcDirection } | undefined;
  #pinPath: string | undefined;

  private constructor(
    kind: LinkKind,
    fd: number,
    tc?: { ifindex: number; direction: TcDirection },
  ) {
    this.kind = kind;
    this.#fd = fd;
    this.#tc = tc;
  }

  /** @internal */
  static fromFd(kind: LinkKind, fd: number): BpfLink {
    return new BpfLink(kind, fd);
  }

  /** @internal */
  static tcFilter(ifindex: number, direction: TcDirection): BpfLink {
    return new BpfLink("tc", -1, { ifindex, direction });
  }

  /** Re-opens a pinned link (tcx, xdp or cgroup) so it can be inspected, updated or detached. */
  static openPinned(path: string): BpfLink {
    const fd = lib().bpf.bpf_obj_get(cstr(path));
    if (fd < 0) throw bpfError(`opening pinned link "${path}"`, fd);
    const link = new BpfLink("tcx", fd);
    try {
      const pinned = new BpfLink(link.info().kind, fd);
      pinned.#pinPath = path;
      return pinned;
    } catch (err) {
      link.close();
      throw err;
    }
  }

  get pinPath(): string | undefined {
    return this.#pinPath;
  }

  info(): LinkInfo {
    if (this.#tc) {
      return { kind: "tc", progId: queryTc(this.#tc.ifindex, this.#tc.direction), ...this.#tc };
    }
    // struct bpf_link_info: type @0, id @4, prog_id @8, union @16
    const buf = new Uint8Array(64);
    const len = new Uint32Array([buf.length]);
    const ret = lib().bpf.bpf_obj_get_info_by_fd(this.#fd, buf, new Uint8Array(len.buffer));
    if (ret < 0) throw bpfError("reading link info", ret);
    const d = new DataView(buf.buffer);
    const type = d.getUint32(0, true);
    const progId = d.getUint32(8, true);
    // bpf_link_type: 3 cgroup, 6 xdp, 11 tcx
    if (type === 11) {
      const attach = d.getUint32(20, true);
      return {
        kind: "tcx",
        progId,
        ifindex: d.getUint32(16, true),
        direction: attach === ATTACH.tcxEgress ? "egress" : "ingress",
      };
    }
    if (type === 6) return { kind: "xdp", progId, ifindex: d.getUint32(16, true) };
    return { kind: "cgroup", progId };
  }

  /** Pins the link so the attachment outlives this process. */
  pin(path: string): void {
    if (this.#tc) return; // clsact filters persist in the kernel by themselves
    const ret = lib().bpf.bpf_obj_pin(this.#fd, cstr(path));
    if (ret < 0) throw bpfError(`pinning link at "${path}"`, ret);
    this.#pinPath = path;
  }

  /** Atomically replaces the attached program (link-based attachments only). */
  update(prog: BpfProgram): void {
    if (this.#tc) {
      attachClsact(prog, this.#tc.ifindex, this.#tc.direction);
      return;
    }
    const ret = lib().bpf.bpf_link_update(this.#fd, prog.fd, null);
    if (ret < 0) throw bpfError(`replacing program of ${this.kind} link with "${prog.name}"`, ret);
    writes++;
  }

  /** Detaches the program and removes the pin. */
  detach(): void {
    if (this.#tc) {
      detachClsact(this.#tc.ifindex, this.#tc.direction);
    } else if (this.#fd >= 0) {
      const ret = lib().bpf.bpf_link_detach(this.#fd);
      if (ret < 0 && ret !== -2) throw bpfError(`detaching ${this.kind} link`, ret);
    }
    writes++;
    if (this.#pinPath) {
      try {
        Deno.removeSync(this.#pinPath);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      this.#pinPath = undefined;
    }
    this.close();
  }

  /** Releases the fd. An unpinned link-based attachment is detached by this. */
  close(): void {
    closeFd(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Attaches a sched_cls program to an interface; `auto` uses tcx when the kernel has it. */
export function attachTc(
  prog: BpfProgram,
  ifindex: number,
  direction: TcDirection,
  opts: { mode?: TcMode } = {},
): BpfLink {
  const mode = opts.mode ?? "auto";
  if (mode !== "tc") {
    const type = direction === "ingress" ? ATTACH.tcxIngress : ATTACH.tcxEgress;
    const fd = lib().bpf.bpf_link_create(prog.fd, ifindex, type, null);
    if (fd >= 0) {
      writes++;
      return BpfLink.fromFd("tcx", fd);
    }
    if (mode === "tcx" || (fd !== -22 && fd !== -95 && fd !== -524)) {
      if (fd === -22 || fd === -95) {
        throw new NotSupportedError("tcx attachment", "tcx needs Linux >= 6.6", -fd);
      }
      throw bpfError(`attaching "${prog.name}" to ifindex ${ifindex} ${direction} (tcx)`, fd);
    }
  }
  attachClsact(prog, ifindex, direction);
  return BpfLink.tcFilter(ifindex, direction);
}

function tcHook(ifindex: number, direction: TcDirection): Uint8Array<ArrayBuffer> {
  // struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; } = 24 bytes
  const hook = new Uint8Array(24);
  const d = new DataView(hook.buffer);
  d.setBigUint64(0, 24n, true);
  d.setInt32(8, ifindex, true);
  d.setUint32(12, direction === "ingress" ? 1 : 2, true);
  return hook;
}

function tcOpts(progFd: number, flags: number): Uint8Array<ArrayBuffer> {
  // struct bpf_tc_opts { size_t sz; int prog_fd; u32 flags; u32 prog_id; u32 handle; u32 priority; }
  const opts = new Uint8Array(32);
  const d = new DataView(opts.buffer);
  d.setBigUint64(0, 32n, true);
  d.setInt32(8, progFd, true);
  d.setUint32(12, flags, true);
  d.setUint32(20, TC_HANDLE, true);
  d.setUint32(24, TC_PRIORITY, true);
  return opts;
}

function attachClsact(prog: BpfProgram, ifindex: number, direction: TcDirection): void {
  const hook = tcHook(ifindex, direction);
  const created = lib().bpf.bpf_tc_hook_create(hook);
  if (created < 0 && created !== -17) {
    throw bpfError(`creating clsact qdisc on ifindex ${ifindex}`, created);
  }
  const ret = lib().bpf.bpf_tc_attach(hook, tcOpts(prog.fd, 1 /* BPF_TC_F_REPLACE */));
  if (ret < 0) throw bpfError(`attaching "${prog.name}" to ifindex ${ifindex} ${direction}`, ret);
  writes++;
}

function detachClsact(ifindex: number, direction: TcDirection): void {
  const ret = lib().bpf.bpf_tc_detach(tcHook(ifindex, direction), tcOpts(0, 0));
  if (ret < 0 && ret !== -2 && ret !== -19) {
    throw bpfError(`detaching tc filter from ifindex ${ifindex} ${direction}`, ret);
  }
}

/** Program id of hypha's clsact filter on (ifindex, direction), or 0 when none. */
export function queryTc(ifindex: number, direction: TcDirection): number {
  const opts = tcOpts(0, 0);
  const ret = lib().bpf.bpf_tc_query(tcHook(ifindex, direction), opts);
  if (ret === -2 || ret === -19 || ret === -22) return 0;
  if (ret < 0) throw bpfError(`querying tc filter on ifindex ${ifindex} ${direction}`, ret);
  return new DataView(opts.buffer).getUint32(16, true);
}

/** Finds hypha's clsact filter on an interface (for adoption after a restart). */
export function findTcFilter(ifindex: number, direction: TcDirection): BpfLink | undefined {
  return queryTc(ifindex, direction) ? BpfLink.tcFilter(ifindex, direction) : undefined;
}

/** Attaches an XDP program as a link; `generic` works on every device (veth included). */
export function attachXdp(
  prog: BpfProgram,
  ifindex: number,
  opts: { mode?: "generic" | "driver" } = {},
): BpfLink {
  // struct bpf_link_create_opts { size_t sz; __u32 flags; ... }; fields after flags stay zero.
  const linkOpts = new Uint8Array(16);
  const d = new DataView(linkOpts.buffer);
  d.setBigUint64(0, 16n, true);
  d.setUint32(8, opts.mode === "driver" ? 4 /* XDP_FLAGS_DRV_MODE */ : 2, /* SKB_MODE */ true);
  const fd = lib().bpf.bpf_link_create(prog.fd, ifindex, ATTACH.xdp, linkOpts);
  if (fd < 0) {
    throw bpfError(
      `attaching XDP "${prog.name}" to ifindex ${ifindex} (${opts.mode ?? "generic"})`,
      fd,
    );
  }
  writes++;
  return BpfLink.fromFd("xdp", fd);
}

/** Attaches a cgroup program (socket hooks, cgroup skb) to the cgroup v2 directory `cgroupPath`. */
export function attachCgroup(
  prog: BpfProgram,
  cgroupPath: string,
  type: CgroupAttachType,
): BpfLink {
  const O_RDONLY_DIRECTORY = 0o200000;
  const cgfd = lib().libc.open(cstr(cgroupPath), O_RDONLY_DIRECTORY);
  if (cgfd < 0) {
    throw new BpfError(`opening cgroup "${cgroupPath}"`, 2, "is it a cgroup v2 directory?");
  }
  try {
    const fd = lib().bpf.bpf_link_create(prog.fd, cgfd, CGROUP_ATTACH_TYPES[type], null);
    if (fd < 0) throw bpfError(`attaching "${prog.name}" to cgroup "${cgroupPath}" (${type})`, fd);
    writes++;
    return BpfLink.fromFd("cgroup", fd);
  } finally {
    closeFd(cgfd);
  }
}

/** The interface names of the calling thread's network namespace (if_nameindex(3)). */
export function interfaceNames(): string[] {
  const { libc } = lib();
  const list = libc.if_nameindex();
  if (!list) throw new BpfError("listing interfaces", 12, "out of memory?");
  try {
    // struct if_nameindex { unsigned int if_index; char *if_name; }: 16 bytes on 64-bit
    const view = new Deno.UnsafePointerView(list);
    const names: string[] = [];
    for (let off = 0; view.getUint32(off) !== 0; off += 16) {
      names.push(readCString(Deno.UnsafePointer.create(view.getBigUint64(off + 8))));
    }
    return names;
  } finally {
    libc.if_freenameindex(list);
  }
}

/** Resolves an interface name in the current network namespace. */
export function ifIndex(name: string): number {
  const index = lib().libc.if_nametoindex(cstr(name));
  if (!index) throw new BpfError(`finding interface "${name}"`, 19, "no such interface");
  return index;
}

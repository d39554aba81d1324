// BpfObject: an eBPF ELF object. `open()` only parses (no kernel access); `load()` creates maps
// (reusing pinned ones) and loads programs through the verifier.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { closeFd, cstr, lib, readCString, takeLibbpfMessages } from "./_libbpf.ts";
import { bytes, type Codec } from "./codec.ts";
import {
  BpfError,
  bpfError,
  PermissionError,
  PinnedMapMismatchError,
  VerifierError,
} from "./errors.ts";
import { BpfMap, mapInfoByFd, mapTypeName, userValueSize } from "./map.ts";

const VERIFIER_LOG_SIZE = 1 << 20;

export interface BpfProgram {
  readonly name: string;
  readonly section: string;
  /** Kernel program type number (3 = sched_cls, 6 = xdp, 18 = cgroup_sock_addr, ...). */
  readonly type: number;
  /** Valid after load(); owned by the object. */
  readonly fd: number;
}

export interface MapSpec {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  pinPath: string | null;
}

export class BpfObject implements Disposable {
  readonly name: string;
  #ptr: Deno.PointerValue;
  #loaded = false;
  readonly #keepAlive: Uint8Array[] = [];
  readonly #pinPaths = new Map<string, string>();

  private constructor(name: string, ptr: Deno.PointerObject, keepAlive: Uint8Array[]) {
    this.name = name;
    this.#ptr = ptr;
    this.#keepAlive.push(...keepAlive);
  }

  /** Parses an object from a file path or its bytes. Touches no kernel state. */
  static open(src: string | Uint8Array, opts: { name?: string } = {}): BpfObject {
    const name = opts.name ?? (typeof src === "string" ? src : "object");
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = typeof src === "string" ? Deno.readFileSync(src) : new Uint8Array(src);
    } catch (err) {
      throw new BpfError(`reading BPF object "${name}"`, 2, String(err));
    }
    if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c) {
      throw new BpfError(`opening BPF object "${name}"`, 22, "it is not an ELF file (corrupt?)");
    }
    // struct bpf_object_open_opts (libbpf 1.x): sz @0, object_name @8; 80 bytes.
    const objectName = cstr(name.replace(/^.*\//, "").replace(/\.o$/, "").slice(0, 15));
    const openOpts = new Uint8Array(80);
    const d = new DataView(openOpts.buffer);
    d.setBigUint64(0, 80n, true);
    d.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(objectName))), true);
    takeLibbpfMessages();
    const ptr = lib().bpf.bpf_object__open_mem(bytes, BigInt(bytes.length), openOpts);
    if (!ptr) {
      const err = Number(lib().bpf.libbpf_get_error(null));
      throw bpfError(
        `opening BPF object "${name}"`,
        err || -22,
        takeLibbpfMessages().join("; ") || "libbpf could not parse it (corrupt object?)",
      );
    }
    return new BpfObject(name, ptr, [bytes, objectName]);
  }

  get #obj(): Deno.PointerObject {
    if (!this.#ptr) throw new BpfError(`using BPF object "${this.name}"`, 9, "it is closed");
    return this.#ptr;
  }

  *#programPtrs(): Generator<Deno.PointerObject> {
    let p: Deno.PointerValue = null;
    while ((p = lib().bpf.bpf_object__next_program(this.#obj, p))) yield p;
  }

  *#mapPtrs(): Generator<[Deno.PointerObject, string]> {
    let p: Deno.PointerValue = null;
    while ((p = lib().bpf.bpf_object__next_map(this.#obj, p))) {
      yield [p, readCString(lib().bpf.bpf_map__name(p))];
    }
  }

  programNames(): string[] {
    return [...this.#programPtrs()].map((p) => readCString(lib().bpf.bpf_program__name(p)));
  }

  /** Maps the object declares, excluding libbpf's internal .data/.rodata/.bss maps. */
  maps(): MapSpec[] {
    const b = lib().bpf;
    return [...this.#mapPtrs()].filter(([p]) => !b.bpf_map__is_internal(p)).map(([p, name]) => ({
      name,
      type: mapTypeName(b.bpf_map__type(p)),
      keySize: b.bpf_map__key_size(p),
      valueSize: b.bpf_map__value_size(p),
      maxEntries: b.bpf_map__max_entries(p),
      pinPath: this.#pinPaths.get(name) ?? null,
    }));
  }

  mapNames(): string[] {
    return this.maps().map((m) => m.name);
  }

  /**
   * Before load(): every (non-internal) map is pinned as `<dir>/<name>`, or reuses the map already
   * pinned there. A pinned map whose layout differs is refused with PinnedMapMismatchError.
   * `only` limits it to some maps (an object that shares core's maps and owns others pins the
   * two sets in two directories).
   */
  pinMaps(dir: string, only: (name: string) => boolean = () => true): void {
    if (this.#loaded) throw new BpfError(`pinning maps of "${this.name}"`, 22, "already loaded");
    const b = lib().bpf;
    for (const [p, name] of this.#mapPtrs()) {
      if (b.bpf_map__is_internal(p) || !only(name)) continue;
      const path = join(dir, name);
      if (existsSync(path)) checkPinnedLayout(path, p);
      const ret = b.bpf_map__set_pin_path(p, cstr(path));
      if (ret < 0) throw bpfError(`setting pin path of map "${name}"`, ret);
      this.#pinPaths.set(name, path);
    }
  }

  /** Creates maps and loads every program; a verifier rejection carries the full log. */
  load(): void {
    const b = lib().bpf;
    const logs = new Map<string, Uint8Array<ArrayBuffer>>();
    for (const p of this.#programPtrs()) {
      const log = new Uint8Array(VERIFIER_LOG_SIZE);
      b.bpf_program__set_log_buf(p, log, BigInt(log.length));
      logs.set(readCString(b.bpf_program__name(p)), log);
    }
    takeLibbpfMessages();
    const ret = b.bpf_object__load(this.#obj);
    // libbpf only uses the log buffers during load; detach them so they can be collected.
    for (const p of this.#programPtrs()) b.bpf_program__set_log_buf(p, null, 0n);
    if (ret < 0) {
      const messages = takeLibbpfMessages();
      for (const [prog, log] of logs) {
        const end = log.indexOf(0);
        const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
        if (text.trim()) throw new VerifierError(prog, -ret, text);
      }
      if (ret === -1 || ret === -13) throw new PermissionError(`loading "${this.name}"`, -ret);
      throw bpfError(`loading BPF object "${this.name}"`, ret, messages.slice(-4).join("; "));
    }
    this.#loaded = true;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  program(name: string): BpfProgram {
    const b = lib().bpf;
    for (const p of this.#programPtrs()) {
      if (readCString(b.bpf_program__name(p)) !== name) continue;
      return {
        name,
        section: readCString(b.bpf_program__section_name(p)),
        type: b.bpf_program__type(p),
        fd: b.bpf_program__fd(p),
      };
    }
    throw new BpfError(
      `finding program "${name}" in "${this.name}"`,
      2,
      `it has: ${this.programNames().join(", ")}`,
    );
  }

  /** A typed handle on a loaded map (its own fd, so it may outlive the object). */
  map<K, V>(name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
    if (!this.#loaded) throw new BpfError(`opening map "${name}"`, 22, "load the object first");
    for (const [p, mapName] of this.#mapPtrs()) {
      if (mapName !== name) continue;
      const fd = lib().libc.dup(lib().bpf.bpf_map__fd(p));
      if (fd < 0) throw new BpfError(`opening map "${name}"`, 24, "dup failed");
      return new BpfMap(fd, key, value);
    }
    throw new BpfError(`finding map "${name}" in "${this.name}"`, 2, `it has: ${this.mapNames()}`);
  }

  /** An untyped handle (raw key/value bytes), e.g. to clear or dump any map. */
  rawMap(name: string): BpfMap<Uint8Array, Uint8Array> {
    const spec = this.maps().find((m) => m.name === name);
    if (!spec) throw new BpfError(`finding map "${name}" in "${this.name}"`, 2);
    const mapPtr = [...this.#mapPtrs()].find(([, n]) => n === name)![0];
    const valueSize = userValueSize({
      typeId: lib().bpf.bpf_map__type(mapPtr),
      valueSize: spec.valueSize,
    });
    return this.map(name, bytes(spec.keySize), bytes(valueSize));
  }

  close(): void {
    if (this.#ptr) lib().bpf.bpf_object__close(this.#ptr);
    this.#ptr = null;
    this.#keepAlive.length = 0;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function checkPinnedLayout(path: string, mapPtr: Deno.PointerObject): void {
  const b = lib().bpf;
  const fd = b.bpf_obj_get(cstr(path));
  if (fd < 0) throw bpfError(`opening pinned map "${path}"`, fd);
  try {
    const pinned = mapInfoByFd(fd);
    const want = {
      type: b.bpf_map__type(mapPtr),
      keySize: b.bpf_map__key_size(mapPtr),
      valueSize: b.bpf_map__value_size(mapPtr),
      maxEntries: b.bpf_map__max_entries(mapPtr),
    };
    const diffs: string[] = [];
    if (pinned.typeId !== want.type) {
      diffs.push(`type ${pinned.type} -> ${mapTypeName(want.type)}`);
    }
    if (pinned.keySize !== want.keySize) {
      diffs.push(`key size ${pinned.keySize} -> ${want.keySize}`);
    }
    if (pinned.valueSize !== want.valueSize) {
      diffs.push(`value size ${pinned.valueSize} -> ${want.valueSize}`);
    }
    if (pinned.maxEntries !== want.maxEntries) {
      diffs.push(`max entries ${pinned.maxEntries} -> ${want.maxEntries}`);
    }
    if (diffs.length) throw new PinnedMapMismatchError(path, diffs);
  } finally {
    closeFd(fd);
  }
}

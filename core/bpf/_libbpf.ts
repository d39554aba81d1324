// The raw libbpf (1.x, Debian `libbpf1`) and libc symbols hypha uses, opened once.
//
// This is the ONLY file in hypha that calls Deno.dlopen. Everything else goes through the typed
// wrappers in core/bpf (object.ts, map.ts, link.ts, ringbuf.ts, test_run.ts, probe.ts).
//
// Error convention (libbpf 1.0 "strict" mode, the default since libbpf 1.0): low-level `bpf_*`
// calls return a negative errno; pointer-returning calls return NULL and set errno, which we read
// immediately through `libbpf_get_error`.

const LIBBPF_CANDIDATES = ["libbpf.so.1", "/usr/lib/x86_64-linux-gnu/libbpf.so.1"];
const LIBC_CANDIDATES = ["libc.so.6"];

const libbpfSymbols = {
  libbpf_get_error: { parameters: ["pointer"], result: "i64" },
  libbpf_set_print: { parameters: ["function"], result: "pointer" },
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
  libbpf_probe_bpf_prog_type: { parameters: ["u32", "pointer"], result: "i32" },
  libbpf_probe_bpf_map_type: { parameters: ["u32", "pointer"], result: "i32" },
  libbpf_probe_bpf_helper: { parameters: ["u32", "u32", "pointer"], result: "i32" },

  bpf_object__open_mem: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  bpf_object__next_map: { parameters: ["pointer", "pointer"], result: "pointer" },

  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  bpf_program__type: { parameters: ["pointer"], result: "u32" },
  bpf_program__set_log_buf: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },

  bpf_map__name: { parameters: ["pointer"], result: "pointer" },
  bpf_map__fd: { parameters: ["pointer"], result: "i32" },
  bpf_map__type: { parameters: ["pointer"], result: "u32" },
  bpf_map__key_size: { parameters: ["pointer"], result: "u32" },
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
  bpf_map__is_internal: { parameters: ["pointer"], result: "bool" },
  bpf_map__set_pin_path: { parameters: ["pointer", "buffer"], result: "i32" },

  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_map_get_next_key: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_lookup_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  bpf_map_update_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  bpf_map_delete_batch: { parameters: ["i32", "buffer", "buffer", "buffer"], result: "i32" },

  bpf_map_create: {
    parameters: ["u32", "buffer", "u32", "u32", "u32", "buffer"],
    result: "i32",
  },

  bpf_obj_pin: { parameters: ["i32", "buffer"], result: "i32" },
  bpf_obj_get: { parameters: ["buffer"], result: "i32" },
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_prog_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_map_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_prog_load: {
    parameters: ["u32", "buffer", "buffer", "buffer", "usize", "pointer"],
    result: "i32",
  },

  bpf_link_create: { parameters: ["i32", "i32", "u32", "buffer"], result: "i32" },
  bpf_link_detach: { parameters: ["i32"], result: "i32" },
  bpf_link_update: { parameters: ["i32", "i32", "pointer"], result: "i32" },
  bpf_tc_hook_create: { parameters: ["buffer"], result: "i32" },
  bpf_tc_hook_destroy: { parameters: ["buffer"], result: "i32" },
  bpf_tc_attach: { parameters: ["buffer", "buffer"], result: "i32" },
  bpf_tc_detach: { parameters: ["buffer", "buffer"], result: "i32" },
  bpf_tc_query: { parameters: ["buffer", "buffer"], result: "i32" },

  bpf_prog_test_run_opts: { parameters: ["i32", "buffer"], result: "i32" },

  ring_buffer__new: { parameters: ["i32", "function", "pointer", "pointer"], result: "pointer" },
  ring_buffer__consume: { parameters: ["pointer"], result: "i32" },
  ring_buffer__epoll_fd: { parameters: ["pointer"], result: "i32" },
  ring_buffer__free: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

const libcSymbols = {
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  vsnprintf: { parameters: ["buffer", "usize", "pointer", "pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  if_nameindex: { parameters: [], result: "pointer" },
  if_freenameindex: { parameters: ["pointer"], result: "void" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  // Blocking wait on the ring buffer's epoll fd, on a worker thread so the event loop stays free.
  epoll_wait: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

function openFirst<S extends Deno.ForeignLibraryInterface>(
  candidates: string[],
  symbols: S,
): Deno.DynamicLibrary<S> {
  let lastError: unknown;
  for (const path of candidates) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(
    `Cannot open libbpf: tried ${candidates.join(", ")}: ${String(lastError)} ` +
      `(install Debian package libbpf1)`,
  );
}

type Libs = {
  bpf: Deno.DynamicLibrary<typeof libbpfSymbols>["symbols"];
  libc: Deno.DynamicLibrary<typeof libcSymbols>["symbols"];
};
let libs: Libs | undefined;

/** The loaded libraries; opened on first use so pure modules can import core/bpf without FFI. */
export function lib(): Libs {
  if (!libs) {
    libs = {
      bpf: openFirst(LIBBPF_CANDIDATES, libbpfSymbols).symbols,
      libc: openFirst(LIBC_CANDIDATES, libcSymbols).symbols,
    };
    installPrintHook(libs);
  }
  return libs;
}

/** Reads the calling thread's errno (valid right after a failed libc/libbpf call). */
export function errno(): number {
  const p = lib().libc.__errno_location();
  return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
}

/** NUL-terminated UTF-8 C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

export function readCString(p: Deno.PointerValue): string {
  return p ? new Deno.UnsafePointerView(p).getCString() : "";
}

// libbpf's diagnostics (e.g. "couldn't reuse pinned map") are captured instead of printed, and
// attached to the error of the call that produced them. The callback runs synchronously on the
// calling thread, so formatting the va_list with vsnprintf right here is safe.
const LOG_LIMIT = 64;
const recentMessages: string[] = [];
const PRINT_FN = { parameters: ["i32", "pointer", "pointer"], result: "i32" } as const;
let _printCallback: Deno.UnsafeCallback<typeof PRINT_FN> | undefined;

function installPrintHook(l: Libs): void {
  const buf = new Uint8Array(4096);
  const callback = new Deno.UnsafeCallback(
    PRINT_FN,
    (level, fmt, args) => {
      const n = l.libc.vsnprintf(buf, BigInt(buf.length), fmt, args);
      const text = new TextDecoder().decode(buf.subarray(0, Math.min(Math.max(n, 0), 4095)))
        .trimEnd();
      // level: 0 warn, 1 info, 2 debug. Debug output is not kept.
      if (level <= 1 && text) {
        recentMessages.push(text);
        if (recentMessages.length > LOG_LIMIT) recentMessages.shift();
        if (Deno.env.get("HYPHA_LIBBPF_DEBUG")) console.error(`libbpf: ${text}`);
      }
      return 0;
    },
  );
  // The callback must live as long as the process: libbpf keeps the pointer.
  callback.unref();
  l.bpf.libbpf_set_print(callback.pointer);
  _printCallback = callback; // referenced for the life of the process
}

/** Returns and clears libbpf's messages printed since the last call. */
export function takeLibbpfMessages(): string[] {
  return recentMessages.splice(0, recentMessages.length);
}

/** Closes a raw file descriptor owned by core/bpf. */
export function closeFd(fd: number): void {
  if (fd >= 0) lib().libc.close(fd);
}

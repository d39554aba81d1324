// Generates TypeScript codecs for hypha's own BPF maps from the BTF of the compiled objects, and
// the drop reasons from the `hypha_drop_reason` enum (bpf/lib/drop.h), so C and TypeScript agree
// by construction. `deno task gen` writes core/bpf/generated/; `deno task gen:check` fails when
// regenerating would change anything (run in CI by `deno task ok`).
import { dirname, join } from "node:path";

const root = join(import.meta.dirname!, "..");
const OUT_DIR = join(root, "core/bpf/generated");

/**
 * Entry objects whose maps get codecs: bpf/<object>.c -> <out>. bpf_host.c declares every map
 * core shares; bpf_lb.c every map of the load balancer (plugins/lb owns hypha_lb_*). Every
 * other entry object's maps must be declared exactly as in the object that generates them
 * (they are pinned by name and shared), which generation checks.
 */
interface Target {
  object: string;
  out: string;
  /** The maps this target generates codecs for. */
  owns: (map: string) => boolean;
  /** The codec module, relative to `out`. */
  codecImport: string;
  /** Flag enums to generate as constants: C enum name -> exported const name. */
  enums?: Array<{ name: string; constName: string; prefix: string }>;
  /** Structs to generate codecs for beyond the maps' keys and values (ring buffer records). */
  structs?: string[];
}
const isLbMap = (map: string) => map.startsWith("hypha_lb_");
const TARGETS: Target[] = [
  {
    object: "bpf_host",
    out: "core/bpf/generated/host.ts",
    owns: (map) => !isLbMap(map),
    codecImport: "../codec.ts",
    structs: ["flow_event"],
    enums: [
      { name: "monitor_level", constName: "MONITOR_LEVEL", prefix: "MONITOR_" },
      { name: "flow_event_type", constName: "FLOW_EVENT_TYPE", prefix: "FLOW_EVENT_" },
      { name: "flow_verdict", constName: "FLOW_VERDICT", prefix: "VERDICT_" },
      { name: "flow_obs_point", constName: "OBS_POINT", prefix: "OBS_" },
      { name: "flow_event_flag", constName: "FLOW_F", prefix: "FLOW_F_" },
      { name: "traffic_layout", constName: "TRAFFIC", prefix: "TRAFFIC_" },
    ],
  },
  {
    object: "bpf_lb",
    out: "plugins/lb/generated/lb.ts",
    owns: isLbMap,
    codecImport: "../../../core/bpf/codec.ts",
    enums: [
      { name: "lb_config_flag", constName: "LB_CFG_F", prefix: "LB_CFG_F_" },
      { name: "lb_frontend_flag", constName: "LB_FE", prefix: "LB_FE_" },
      { name: "lb_backend_flag", constName: "LB_BE_F", prefix: "LB_BE_F_" },
    ],
  },
];
const SHARING_OBJECTS = ["bpf_lxc", "bpf_overlay", "bpf_sock"];
const DROP_ENUM = "hypha_drop_reason";
const IDENTITY_ENUM = "hypha_reserved_identity";
const HOOK_ENUM = "hypha_hook";

export interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  encoding?: string;
  members?: Array<{ name: string; type_id: number; bits_offset: number }>;
  values?: Array<{ name: string; val: number }>;
  vars?: Array<{ type_id: number }>;
}

const MAP_TYPES: Record<number, string> = {
  1: "hash",
  2: "array",
  3: "prog_array",
  5: "percpu_hash",
  6: "percpu_array",
  9: "lru_hash",
  10: "lru_percpu_hash",
  11: "lpm_trie",
  12: "array_of_maps",
  13: "hash_of_maps",
  27: "ringbuf",
};
const PER_CPU = new Set([5, 6, 10]);

class Btf {
  readonly #byId = new Map<number, BtfType>();
  constructor(types: BtfType[]) {
    for (const t of types) this.#byId.set(t.id, t);
  }
  get(id: number): BtfType {
    const t = this.#byId.get(id);
    if (!t) throw new Error(`BTF type id ${id} not found`);
    return t;
  }
  /** Follows typedefs, const and volatile. */
  resolve(id: number): BtfType {
    let t = this.get(id);
    while (["TYPEDEF", "CONST", "VOLATILE", "RESTRICT"].includes(t.kind)) t = this.get(t.type_id!);
    return t;
  }
  all(): BtfType[] {
    return [...this.#byId.values()];
  }
}

const pascal = (s: string) => s.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
const camel = (s: string) => pascal(s).replace(/^./, (c) => c.toLowerCase());

interface Emitted {
  tsType: string;
  codec: string;
  size: number;
}

class Emitter {
  readonly decls: string[] = [];
  readonly #structs = new Map<number, Emitted>();
  readonly imports = new Set<string>(["type Codec"]);
  constructor(readonly btf: Btf) {}

  type(id: number): Emitted {
    const t = this.btf.resolve(id);
    switch (t.kind) {
      case "INT":
      case "ENUM": {
        const signed = t.encoding === "SIGNED";
        const map: Record<number, [string, string]> = {
          1: ["number", "u8"],
          2: ["number", "u16"],
          4: ["number", signed ? "i32" : "u32"],
          8: ["bigint", signed ? "s64" : "u64"],
        };
        const m = map[t.size!];
        if (!m) throw new Error(`unsupported integer size ${t.size} (${t.name})`);
        this.imports.add(m[1]);
        return { tsType: m[0], codec: m[1], size: t.size! };
      }
      case "ARRAY": {
        const elem = this.type(t.type_id!);
        const n = t.nr_elems!;
        if (elem.codec === "u8") {
          this.imports.add("bytes");
          return { tsType: "Uint8Array", codec: `bytes(${n})`, size: n };
        }
        this.imports.add("array");
        return {
          tsType: `${elem.tsType}[]`,
          codec: `array(${elem.codec}, ${n})`,
          size: elem.size * n,
        };
      }
      case "STRUCT":
        return this.struct(t);
      default:
        throw new Error(`unsupported BTF kind ${t.kind} in a map key/value`);
    }
  }

  struct(t: BtfType): Emitted {
    const done = this.#structs.get(t.id);
    if (done) return done;
    if (t.name === "(anon)") {
      throw new Error("anonymous structs in map keys/values are not supported");
    }
    const iface = pascal(t.name);
    const codecName = camel(t.name);
    const fields: string[] = [];
    const props: string[] = [];
    for (const m of t.members ?? []) {
      if (/^_?pad\d*$/.test(m.name)) continue; // padding: written as zeros by struct()
      if (m.bits_offset % 8) throw new Error(`bit field ${t.name}.${m.name} is not supported`);
      const f = this.type(m.type_id);
      props.push(`  ${m.name}: ${f.tsType};`);
      fields.push(`  ${m.name}: [${m.bits_offset / 8}, ${f.codec}],`);
    }
    this.imports.add("struct");
    this.decls.push(
      `/** struct ${t.name} (${t.size} bytes) */\nexport interface ${iface} {\n${
        props.join("\n")
      }\n}\n` +
        `export const ${codecName}: Codec<${iface}> = struct<${iface}>(${t.size}, {\n${
          fields.join("\n")
        }\n});\n`,
    );
    const out = { tsType: iface, codec: codecName, size: t.size! };
    this.#structs.set(t.id, out);
    return out;
  }
}

/** TypeScript for the maps of one object (those `owns` accepts), from its BTF. */
export function generateMaps(
  types: BtfType[],
  source: string,
  opts: {
    owns?: (map: string) => boolean;
    codecImport?: string;
    enums?: Target["enums"];
    structs?: string[];
  } = {},
): string {
  const btf = new Btf(types);
  const em = new Emitter(btf);
  const maps = btf.all().find((t) => t.kind === "DATASEC" && t.name === ".maps");
  const rows: string[] = [];
  for (const v of maps?.vars ?? []) {
    const variable = btf.get(v.type_id);
    if (opts.owns && !opts.owns(variable.name)) continue;
    const def = btf.resolve(variable.type_id!);
    const member = (name: string) => def.members?.find((m) => m.name === name);
    const arrayLen = (name: string) => {
      const m = member(name);
      return m ? btf.resolve(btf.get(m.type_id).type_id!).nr_elems! : 0;
    };
    const pointee = (name: string) => {
      const m = member(name);
      return m ? btf.get(m.type_id).type_id! : undefined;
    };
    const typeId = arrayLen("type");
    const keyId = pointee("key");
    const valueId = pointee("value");
    const key = keyId !== undefined ? em.type(keyId) : undefined;
    const value = valueId !== undefined ? em.type(valueId) : undefined;
    const perCpu = PER_CPU.has(typeId);
    rows.push(
      `  ${variable.name}: {\n` +
        `    type: "${MAP_TYPES[typeId] ?? `type ${typeId}`}",\n` +
        `    perCpu: ${perCpu},\n` +
        `    keySize: ${key?.size ?? 0},\n` +
        `    valueSize: ${value?.size ?? 0},\n` +
        `    maxEntries: ${arrayLen("max_entries")},\n` +
        (key ? `    key: ${key.codec},\n` : "") +
        (value ? `    value: ${value.codec},\n` : "") +
        `  },`,
    );
  }
  const offsets: string[] = [];
  for (const name of opts.structs ?? []) {
    const t = btf.all().find((t) => t.kind === "STRUCT" && t.name === name);
    if (!t) throw new Error(`struct ${name} not found in the BTF of ${source}`);
    em.struct(t);
    // Field offsets too, for decoders that read a record in place (ring buffer hot paths).
    const fields = (t.members ?? []).filter((m) => !/^_?pad\d*$/.test(m.name))
      .map((m) => `  ${m.name}: ${m.bits_offset / 8},`);
    offsets.push(
      `/** Byte offsets of struct ${name}'s fields. */\n` +
        `export const ${camel(name)}Offsets = {\n${fields.join("\n")}\n} as const;\n`,
    );
  }
  const imports = [...em.imports].sort((a, b) =>
    a.replace("type ", "").localeCompare(b.replace("type ", ""))
  );
  const enums = (opts.enums ?? []).map((e) =>
    generateEnumConst(types, e.name, e.constName, e.prefix)
  );
  return [
    `// Code generated by scripts/gen_codecs.ts from ${source}; DO NOT EDIT.`,
    `import { ${imports.join(", ")} } from "${opts.codecImport ?? "../codec.ts"}";`,
    "",
    ...em.decls,
    ...offsets,
    `/** The maps of ${source}, with their layout and codecs. */`,
    `export const MAPS = {\n${rows.join("\n")}\n} as const;`,
    "",
    ...enums,
  ].join("\n");
}

/** A C enum as a TypeScript const object: `export const NAME = { MEMBER: value, ... }`. */
export function generateEnumConst(
  types: BtfType[],
  enumName: string,
  constName: string,
  prefix: string,
): string {
  const e = types.find((t) => t.kind === "ENUM" && t.name === enumName);
  if (!e?.values?.length) throw new Error(`enum ${enumName} not found in the BTF`);
  const entries = e.values.map((v) => `  ${v.name.replace(prefix, "")}: ${v.val},`);
  return [
    `/** \`enum ${enumName}\` of the C datapath. */`,
    `export const ${constName} = {\n${entries.join("\n")}\n} as const;`,
    "",
  ].join("\n");
}

/** TypeScript for the drop reasons enum. */
export function generateDropReasons(types: BtfType[], source: string): string {
  const e = types.find((t) => t.kind === "ENUM" && t.name === DROP_ENUM);
  if (!e?.values?.length) throw new Error(`enum ${DROP_ENUM} not found in the BTF of ${source}`);
  const entries = e.values.map((v) => `  ${v.val}: "${v.name.replace(/^DROP_/, "")}",`);
  return [
    `// Code generated by scripts/gen_codecs.ts from ${source}; DO NOT EDIT.`,
    "",
    "/** Drop reason code -> name, from `enum hypha_drop_reason` in bpf/lib/drop.h. */",
    `export const DROP_REASONS: Readonly<Record<number, string>> = {\n${entries.join("\n")}\n};`,
    "",
    "/** The name of a drop reason code, or `UNKNOWN_<code>` for a code this build does not know. */",
    "export function dropReasonName(code: number): string {",
    "  return DROP_REASONS[code] ?? `UNKNOWN_${code}`;",
    "}",
    "",
  ].join("\n");
}

/** TypeScript for the reserved identities enum (bpf/lib/identity.h). */
export function generateReservedIdentities(types: BtfType[], source: string): string {
  const e = types.find((t) => t.kind === "ENUM" && t.name === IDENTITY_ENUM);
  if (!e?.values?.length) {
    throw new Error(`enum ${IDENTITY_ENUM} not found in the BTF of ${source}`);
  }
  const name = (n: string) => n.replace(/^IDENTITY_/, "").toLowerCase().replace(/_/g, "-");
  const entries = e.values.map((v) => `  "${name(v.name)}": ${v.val},`);
  return [
    `// Code generated by scripts/gen_codecs.ts from ${source}; DO NOT EDIT.`,
    "",
    "/** Reserved security identities by name, from `enum hypha_reserved_identity`. */",
    `export const RESERVED_IDENTITIES = {\n${entries.join("\n")}\n} as const;`,
    "",
    "export type ReservedIdentityName = keyof typeof RESERVED_IDENTITIES;",
    "",
  ].join("\n");
}

/** Map name -> "type key/value/max" of one object, for the shared-layout check. */
function mapLayouts(types: BtfType[]): Map<string, string> {
  const btf = new Btf(types);
  const out = new Map<string, string>();
  const maps = btf.all().find((t) => t.kind === "DATASEC" && t.name === ".maps");
  for (const v of maps?.vars ?? []) {
    const variable = btf.get(v.type_id);
    const def = btf.resolve(variable.type_id!);
    const layout = (def.members ?? []).map((m) => {
      const t = btf.get(m.type_id);
      if (t.kind !== "PTR") return m.name;
      const target = btf.resolve(t.type_id!);
      return `${m.name}=${target.kind === "ARRAY" ? target.nr_elems : target.size ?? target.name}`;
    });
    out.set(variable.name, layout.join(","));
  }
  return out;
}

async function btfOf(objectPath: string): Promise<BtfType[]> {
  const out = await new Deno.Command("bpftool", { args: ["-j", "btf", "dump", "file", objectPath] })
    .output();
  if (!out.success) {
    throw new Error(`bpftool btf dump ${objectPath}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)).types;
}

async function format(code: string): Promise<string> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=ts", "-"],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(code));
  await w.close();
  const out = await p.output();
  if (!out.success) throw new Error("deno fmt failed on generated code");
  return new TextDecoder().decode(out.stdout);
}

async function generateAll(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const layouts = new Map<string, { object: string; layout: string }>();
  for (const target of TARGETS) {
    const types = await btfOf(join(root, "bpf/build", `${target.object}.o`));
    files.set(
      join(root, target.out),
      await format(generateMaps(types, `bpf/${target.object}.c`, target)),
    );
    for (const [name, layout] of mapLayouts(types)) {
      if (target.owns(name)) layouts.set(name, { object: target.object, layout });
    }
    if (target.object === "bpf_host") {
      files.set(
        join(OUT_DIR, "drop_reasons.ts"),
        await format(generateDropReasons(types, "bpf/lib/drop.h")),
      );
      files.set(
        join(OUT_DIR, "identities.ts"),
        await format(generateReservedIdentities(types, "bpf/lib/identity.h")),
      );
      files.set(
        join(OUT_DIR, "hooks.ts"),
        await format(
          [
            "// Code generated by scripts/gen_codecs.ts from bpf/lib/hooks.h; DO NOT EDIT.",
            "",
            generateEnumConst(types, HOOK_ENUM, "HOOKS", "HOOK_"),
          ].join("\n"),
        ),
      );
    }
  }
  // Every object's maps must be declared exactly as in the object that generates them.
  for (const object of [...TARGETS.map((t) => t.object), ...SHARING_OBJECTS]) {
    for (const [name, layout] of mapLayouts(await btfOf(join(root, "bpf/build", `${object}.o`)))) {
      const owner = layouts.get(name);
      if (owner?.layout !== layout) {
        throw new Error(
          `map "${name}" of bpf/${object}.c is not declared as in ` +
            `bpf/${owner?.object ?? "(no generating object)"}.c ` +
            `(${layout} vs ${owner?.layout ?? "missing"}): shared maps must match`,
        );
      }
    }
  }
  return files;
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const files = await generateAll();
  let drift = 0;
  for (const [path, content] of files) {
    const rel = path.slice(root.length + 1);
    const current = await Deno.readTextFile(path).catch(() => "");
    if (current === content) continue;
    if (check) {
      console.error(`gen:check: ${rel} is out of date with the BPF objects: run \`deno task gen\``);
      drift++;
    } else {
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(path, content);
      console.log(`gen: wrote ${rel}`);
    }
  }
  if (drift) Deno.exit(1);
  if (check) console.log("gen:check: generated code is up to date");
}

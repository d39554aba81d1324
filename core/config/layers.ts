// Configuration layers and provenance. Later layers win; objects merge field by field, arrays and
// scalars replace. Every leaf of the effective config remembers which layer set it.
import YAML from "yaml";
import { ConfigError } from "./errors.ts";

export type Source = "default" | "deno.json" | `node file ${string}` | "flag" | "api";

export interface Layer {
  source: Source;
  values: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

export function mergeLayers(layers: Layer[]): Record<string, unknown> {
  return mergeValues(...layers.map((l) => l.values));
}

/** Config values merged in order: objects field by field, arrays and scalars replace. */
export function mergeValues(...values: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of values) deepMerge(out, v);
  return out;
}

function deepMerge(target: Record<string, unknown>, src: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(src)) {
    const cur = target[k];
    if (isObject(v) && isObject(cur)) {
      deepMerge(cur, v);
    } else {
      target[k] = isObject(v) ? structuredClone(v) : v;
    }
  }
}

/** Leaf paths of a value: objects recurse, anything else (arrays included) is a leaf. */
export function leafPaths(value: unknown, prefix = ""): string[] {
  if (!isObject(value)) return prefix ? [prefix] : [];
  const entries = Object.entries(value);
  if (entries.length === 0) return prefix ? [prefix] : [];
  return entries.flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** For every leaf of `effective`, the last layer that set it (or "default"). */
export function provenance(effective: unknown, layers: Layer[]): Map<string, Source> {
  const setBy = new Map<string, Source>();
  for (const layer of layers) {
    for (const path of leafPaths(layer.values)) setBy.set(path, layer.source);
  }
  const out = new Map<string, Source>();
  for (const path of leafPaths(effective)) {
    // a leaf is set by a layer that set it or any of its parents (e.g. a whole plugin section)
    let source: Source = "default";
    for (
      let p: string | undefined = path;
      p;
      p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : undefined
    ) {
      const s = setBy.get(p);
      if (s) {
        source = s;
        break;
      }
    }
    out.set(path, source);
  }
  return out;
}

/** `a.b.c=value` -> { a: { b: { c: value } } }; the value is read as YAML (true, 3, [x, y], text). */
export function parseSetFlag(flag: string): Record<string, unknown> {
  const eq = flag.indexOf("=");
  const path = eq < 0 ? "" : flag.slice(0, eq).trim();
  if (!path || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(path)) {
    throw new ConfigError(
      [{ path: path || flag, message: `flag "--set ${flag}" must look like path.to.field=value` }],
      "Invalid flag",
    );
  }
  const raw = flag.slice(eq + 1);
  let value: unknown;
  try {
    value = raw === "" ? "" : YAML.parse(raw);
  } catch {
    value = raw;
  }
  const keys = path.split(".");
  const root: Record<string, unknown> = {};
  let cur = root;
  for (const k of keys.slice(0, -1)) cur = (cur[k] = {}) as Record<string, unknown>;
  cur[keys[keys.length - 1]!] = value;
  return root;
}

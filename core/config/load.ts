// Loading the effective configuration: schema defaults < the `hypha` section of deno.json <
// the node's YAML file < `--set` flags < runtime changes through the API.
import { join } from "node:path";
import YAML from "yaml";
import type { z } from "zod";
import { ConfigError, type ConfigIssue, toConfigIssues } from "./errors.ts";
import { type Layer, mergeLayers, parseSetFlag, provenance, type Source } from "./layers.ts";
import { configSchema, type HyphaConfig } from "./schema.ts";

/** deno.json next to the code (embedded in the compiled executable as well). */
export const DEFAULT_DENO_JSON = join(import.meta.dirname!, "../../deno.json");

export interface LoadOptions {
  /** Path of deno.json; its `hypha` section is the project's defaults and feature toggles. */
  denoJson?: string;
  /** The node's YAML file. */
  nodeFile?: string;
  /** `path=value` overrides. */
  flags?: string[];
  /** Changes made at runtime (e.g. plugins enabled through the API). */
  runtime?: Record<string, unknown>;
  /** Per-plugin config schemas (each validates `plugins.<id>`); unknown plugin ids are errors. */
  pluginSchemas?: Record<string, z.ZodType>;
}

export interface LoadedConfig {
  config: HyphaConfig;
  provenance: Map<string, Source>;
  layers: Layer[];
}

export async function readLayers(opts: LoadOptions): Promise<Layer[]> {
  const layers: Layer[] = [];
  const denoJson = opts.denoJson ?? DEFAULT_DENO_JSON;
  const text = await readText(denoJson, "deno.json");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([{ path: "", message: `${denoJson} is not valid JSON: ${err}` }]);
  }
  const section = (parsed as Record<string, unknown>)?.hypha;
  if (section !== undefined) {
    layers.push({ source: "deno.json", values: asObject(section, "hypha section of deno.json") });
  }
  if (opts.nodeFile) {
    const yaml = await readText(opts.nodeFile, "node config file");
    let doc: unknown;
    try {
      doc = YAML.parse(yaml) ?? {};
    } catch (err) {
      throw new ConfigError([{
        path: "",
        message: `${opts.nodeFile} is not valid YAML: ${(err as Error).message}`,
      }]);
    }
    layers.push({ source: `node file ${opts.nodeFile}`, values: asObject(doc, opts.nodeFile) });
  }
  for (const flag of opts.flags ?? []) layers.push({ source: "flag", values: parseSetFlag(flag) });
  if (opts.runtime) layers.push({ source: "api", values: opts.runtime });
  return layers;
}

/** Validates merged layers (pure). Throws ConfigError listing every problem. */
export function resolveConfig(
  layers: Layer[],
  pluginSchemas?: Record<string, z.ZodType>,
): LoadedConfig {
  const merged = mergeLayers(layers);
  const result = configSchema.safeParse(merged);
  const issues: ConfigIssue[] = result.success ? [] : toConfigIssues(result.error, merged);
  if (result.success && pluginSchemas) {
    for (const [id, section] of Object.entries(result.data.plugins)) {
      const schema = pluginSchemas[id];
      if (!schema) {
        issues.push({
          path: `plugins.${id}`,
          message: `unknown plugin (known: ${Object.keys(pluginSchemas).join(", ") || "none"})`,
        });
        continue;
      }
      const { enabled, ...rest } = section;
      const parsed = schema.safeParse(rest);
      if (!parsed.success) {
        issues.push(...toConfigIssues(parsed.error, rest, ["plugins", id]));
      } else {
        result.data.plugins[id] = { enabled, ...(parsed.data as object) };
      }
    }
  }
  if (issues.length || !result.success) throw new ConfigError(issues);
  return { config: result.data, provenance: provenance(result.data, layers), layers };
}

export async function loadConfig(opts: LoadOptions = {}): Promise<LoadedConfig> {
  return resolveConfig(await readLayers(opts), opts.pluginSchemas);
}

/** Rows for `hypha config`: every leaf, its effective value and where it came from. */
export function describeConfig(
  loaded: Pick<LoadedConfig, "provenance" | "config">,
): Array<{ path: string; value: unknown; source: Source }> {
  return [...loaded.provenance].map(([path, source]) => ({
    path,
    value: get(loaded.config, path),
    source,
  }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

function get(obj: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (v, k) => (v as Record<string, unknown> | undefined)?.[k],
    obj,
  );
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound ? "no such file" : String(err);
    throw new ConfigError([{ path: "", message: `cannot read ${what} "${path}": ${reason}` }]);
  }
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError([{ path: "", message: `${what} must be a mapping of config fields` }]);
  }
  return v as Record<string, unknown>;
}

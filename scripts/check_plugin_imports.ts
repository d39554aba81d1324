// Enforces "a plugin never imports another plugin" and "core never imports a plugin" (except the
// registry core/plugins_registry.ts, which lists them). Part of `deno task ok`.
import { dirname, join, relative, resolve } from "node:path";

export interface Violation {
  file: string;
  specifier: string;
  reason: string;
}

const IMPORT =
  /(?:import|export)\s[^"'`]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|import\s+["']([^"']+)["']/g;

function* tsFiles(dir: string): Generator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory && e.name !== "node_modules") yield* tsFiles(p);
    else if (e.isFile && /\.(ts|tsx|js|mjs)$/.test(e.name)) yield p;
  }
}

/** The plugin a path belongs to, or undefined. */
function pluginOf(root: string, path: string): string | undefined {
  const rel = relative(join(root, "plugins"), path);
  if (rel.startsWith("..")) return undefined;
  return rel.split("/")[0];
}

function* relativeImports(file: string): Generator<string> {
  for (const m of Deno.readTextFileSync(file).matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith(".") || spec.startsWith("/")) yield spec;
  }
}

export function checkImports(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const file of tsFiles(join(root, "plugins"))) {
    const from = pluginOf(root, file);
    for (const spec of relativeImports(file)) {
      const to = pluginOf(root, resolve(dirname(file), spec));
      if (to !== undefined && to !== from) {
        violations.push({
          file: relative(root, file),
          specifier: spec,
          reason: `plugin "${from}" imports plugin "${to}"`,
        });
      }
    }
  }
  for (const file of tsFiles(join(root, "core"))) {
    if (relative(root, file) === "core/plugins_registry.ts") continue;
    for (const spec of relativeImports(file)) {
      const to = pluginOf(root, resolve(dirname(file), spec));
      if (to !== undefined) {
        violations.push({
          file: relative(root, file),
          specifier: spec,
          reason: `core imports plugin "${to}" (only core/plugins_registry.ts may)`,
        });
      }
    }
  }
  return violations;
}

if (import.meta.main) {
  const root = join(import.meta.dirname!, "..");
  const violations = checkImports(root);
  for (const v of violations) {
    console.error(`check:plugins: ${v.file}: ${v.reason} ("${v.specifier}")`);
  }
  if (violations.length) Deno.exit(1);
  console.log("check:plugins: no plugin imports another plugin");
}

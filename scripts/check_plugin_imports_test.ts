import assert from "node:assert/strict";
import { join } from "node:path";
import { checkImports } from "./check_plugin_imports.ts";

async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "hypha-imports-" });
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  }
  return root;
}

Deno.test("checkImports() flags a plugin importing another plugin and core importing a plugin", async () => {
  const root = await tree({
    "plugins/lb/mod.ts": 'import { x } from "../bgp/mod.ts";\nimport { y } from "./maglev.ts";\n',
    "plugins/lb/maglev.ts": 'export const y = await import("../../core/plugin/mod.ts");\n',
    "plugins/bgp/mod.ts": "export const x = 1;\n",
    "core/agent.ts": 'export * from "../plugins/lb/mod.ts";\n',
    "core/plugins_registry.ts": 'import lb from "../plugins/lb/mod.ts";\n',
  });
  try {
    const v = checkImports(root);
    assert.deepEqual(v.map((x) => `${x.file}: ${x.reason}`).sort(), [
      'core/agent.ts: core imports plugin "lb" (only core/plugins_registry.ts may)',
      'plugins/lb/mod.ts: plugin "lb" imports plugin "bgp"',
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkImports() passes a tree without plugins", async () => {
  const root = await tree({ "core/a.ts": 'import "./b.ts";\n' });
  try {
    assert.deepEqual(checkImports(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

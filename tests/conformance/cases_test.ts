// Lints the shipped case files without a cluster: each parses, is named after its file, and
// probes at least one pair of pods placed on different nodes of a 2-node lab.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseCase } from "./case.ts";
import { expectedCells } from "./matrix.ts";
import { findCaseFiles } from "./runner.ts";

const DIR = fileURLToPath(new URL("./cases", import.meta.url));

Deno.test("cases/ holds 60+ case files that parse, each named after its file and probing across nodes", async () => {
  const files = await findCaseFiles([DIR]);
  assert.ok(files.length >= 60, `only ${files.length} case files`);
  const names = new Set<string>();
  for (const file of files) {
    const c = parseCase(await Deno.readTextFile(file), file);
    assert.equal(`${c.name}.yaml`, file.slice(DIR.length + 1), `${file}: name differs from file`);
    assert.ok(!names.has(c.name), `${file}: duplicate name`);
    names.add(c.name);
    const node = new Map(c.pods.map((p, i) => [p.key, p.node ?? i % 2]));
    const crossNode = c.steps.some((s) =>
      [...s.expect.values()].some((m) =>
        expectedCells(m).some(({ from, to }) =>
          node.has(from) && node.has(to) && node.get(from) !== node.get(to)
        )
      )
    );
    assert.ok(crossNode, `${file}: no probe between pods on different nodes`);
  }
});

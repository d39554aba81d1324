import assert from "node:assert/strict";
import { join } from "node:path";
import { DamageReports } from "./damage.ts";
import { anyObject, readStateFile, readStateFileSync, readStateText, recordOf } from "./read.ts";

const numbers = recordOf("a number", (v): v is number => typeof v === "number");

Deno.test("readStateFile() tells ok, missing and damaged apart", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-state-" });
  const path = join(dir, "f.json");
  const both = async (): Promise<unknown> => {
    const a = await readStateFile(path, numbers);
    assert.deepEqual(readStateFileSync(path, numbers), a);
    return a;
  };
  try {
    await t.step("missing", async () => {
      assert.deepEqual(await both(), { kind: "missing" });
    });
    const cases: Array<[string, string, RegExp | string]> = [
      ["empty", "", "the file is empty"],
      ["only whitespace", " \n", "the file is empty"],
      ["torn", '{"a":1,"b"', /^not valid JSON \(/],
      ["NUL bytes (a lost block)", "\0\0\0\0", /^not valid JSON/],
      ["wrong shape", "[1,2]", "expected a JSON object of a number"],
      ["wrong value", '{"a":"1"}', 'entry "a" is not a number'],
    ];
    for (const [name, text, problem] of cases) {
      await t.step(`damaged: ${name}`, async () => {
        await Deno.writeTextFile(path, text);
        const r = await both() as { kind: string; problem: string };
        assert.equal(r.kind, "damaged");
        if (typeof problem === "string") assert.equal(r.problem, problem);
        else assert.match(r.problem, problem);
      });
    }
    await t.step("damaged: a directory where the file should be", async () => {
      await Deno.remove(path);
      await Deno.mkdir(path);
      const r = await both() as { kind: string; problem: string };
      assert.equal(r.kind, "damaged");
      assert.match(r.problem, /^cannot read it/);
      await Deno.remove(path);
    });
    await t.step("ok", async () => {
      await Deno.writeTextFile(path, '{"a":1}');
      assert.deepEqual(await both(), { kind: "ok", value: { a: 1 } });
      assert.deepEqual(await readStateFile(path, anyObject), { kind: "ok", value: { a: 1 } });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DamageReports keeps reports per state directory and tells its watchers", () => {
  const reports = new DamageReports();
  const seen: string[] = [];
  const stop = reports.watch("/state/n1", (d) => seen.push(d.path));
  reports.report("/state/n1/a.json", "the file is empty", "rebuilt");
  reports.report("/state/n10/b.json", "the file is empty", "rebuilt");
  reports.report("/state/n1/endpoints/3.json", "not valid JSON", "rebuilt from the kernel");
  assert.deepEqual(seen, ["/state/n1/a.json", "/state/n1/endpoints/3.json"]);
  assert.deepEqual(reports.under("/state/n1").map((d) => d.path), [
    "/state/n1/a.json",
    "/state/n1/endpoints/3.json",
  ]);
  stop();
  reports.report("/state/n1/a.json", "torn", "again");
  assert.equal(seen.length, 2, "unsubscribed");
  assert.equal(reports.under("/state/n1")[0]!.problem, "torn", "the latest report wins");
  reports.forget("/state/n1");
  assert.deepEqual(reports.under("/state/n1"), []);
  assert.equal(reports.under("/state/n10").length, 1);
});

Deno.test("readStateText() reads a plain-text state file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hypha-state-" });
  const path = join(dir, "id");
  const parse = (t: string) => {
    if (!/^\d+$/.test(t.trim())) throw new Error(`"${t.trim()}" is not a number`);
    return Number(t);
  };
  try {
    assert.deepEqual(await readStateText(path, parse), { kind: "missing" });
    await Deno.writeTextFile(path, "42\n");
    assert.deepEqual(await readStateText(path, parse), { kind: "ok", value: 42 });
    await Deno.writeTextFile(path, "4x");
    assert.deepEqual(await readStateText(path, parse), {
      kind: "damaged",
      problem: '"4x" is not a number',
    });
    await Deno.writeTextFile(path, "");
    assert.deepEqual(await readStateText(path, parse), {
      kind: "damaged",
      problem: "the file is empty",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

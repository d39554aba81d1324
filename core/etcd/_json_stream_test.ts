import assert from "node:assert/strict";
import { jsonObjects, JsonObjectSplitter, MessageTooLargeError } from "./_json_stream.ts";

Deno.test("JsonObjectSplitter splits objects whatever the chunk boundaries", () => {
  const text = '{"a":1}\n{"b":{"c":[1,{"d":2}]}}\n\n{"s":"} { \\" \\\\"}{"e":[]}\n';
  const want = [{ a: 1 }, { b: { c: [1, { d: 2 }] } }, { s: '} { " \\' }, { e: [] }];
  for (let size = 1; size <= text.length; size++) {
    const splitter = new JsonObjectSplitter();
    const got: unknown[] = [];
    for (let i = 0; i < text.length; i += size) got.push(...splitter.push(text.slice(i, i + size)));
    assert.deepEqual(got, want, `chunk size ${size}`);
    assert.ok(splitter.idle);
  }
});

Deno.test("JsonObjectSplitter rejects text between objects", () => {
  assert.throws(() => new JsonObjectSplitter().push('{"a":1} x'), /Unexpected "x"/);
});

Deno.test("jsonObjects() decodes UTF-8 split across chunks and flags a truncated stream", async () => {
  const bytes = new TextEncoder().encode('{"k":"é✓"}\n{"k":"🙂"}');
  const body = (cut: number[]) =>
    ReadableStream.from(
      [0, ...cut].map((start, i, a) => bytes.slice(start, a[i + 1] ?? bytes.length)),
    );
  const got: unknown[] = [];
  for await (const o of jsonObjects(body([7, 8, 16, 19]))) got.push(o);
  assert.deepEqual(got, [{ k: "é✓" }, { k: "🙂" }]);

  const truncated = ReadableStream.from([new TextEncoder().encode('{"a":1}{"b":')]);
  await assert.rejects(async () => {
    for await (const _ of jsonObjects(truncated)) { /* drain */ }
  }, /ended inside a JSON object/);
});

Deno.test("JsonObjectSplitter fails on an object past its limit instead of buffering it", () => {
  const splitter = new JsonObjectSplitter(64);
  assert.deepEqual(splitter.push(`{"a":"${"x".repeat(50)}"}`), [{ a: "x".repeat(50) }]);
  splitter.push('{"big":"');
  assert.throws(
    () => {
      for (let i = 0; i < 10; i++) splitter.push("y".repeat(10));
    },
    (err: Error) => err instanceof MessageTooLargeError && /limit of 64 bytes/.test(err.message),
  );
});

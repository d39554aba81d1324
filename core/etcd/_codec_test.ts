import assert from "node:assert/strict";
import { decodeText, encodeText, prefixRangeEnd, toWatchEvent } from "./_codec.ts";

Deno.test("encodeText() and decodeText() round-trip UTF-8 through base64", () => {
  for (const s of ["", "/hypha/nodes/n1", "clé ✓ 🙂", "x".repeat(100_000)]) {
    assert.equal(decodeText(encodeText(s)), s);
  }
  assert.equal(encodeText("foo"), "Zm9v");
  assert.equal(decodeText(undefined), "");
});

Deno.test("prefixRangeEnd() increments the last byte below 0xff", () => {
  const bytes = (b64: string) => [...atob(b64)].map((c) => c.charCodeAt(0));
  assert.deepEqual(bytes(prefixRangeEnd("/a/")), [0x2f, 0x61, 0x30]);
  assert.deepEqual(bytes(prefixRangeEnd("")), [0]);
  // "ÿ" is 0xc3 0xbf in UTF-8: no 0xff byte, so the last byte is incremented.
  assert.deepEqual(bytes(prefixRangeEnd("ÿ")), [0xc3, 0xc0]);
});

Deno.test("toWatchEvent() reads the omitted PUT type and optional prev_kv", () => {
  const put = toWatchEvent({
    kv: { key: encodeText("k"), value: encodeText("v"), mod_revision: "7" },
  });
  assert.deepEqual(put, { type: "put", key: "k", value: "v", modRevision: 7n });
  const del = toWatchEvent({
    type: "DELETE",
    kv: { key: encodeText("k"), mod_revision: "8" },
    prev_kv: { key: encodeText("k"), value: encodeText("v") },
  });
  assert.deepEqual(del, { type: "delete", key: "k", value: "", prevValue: "v", modRevision: 8n });
});

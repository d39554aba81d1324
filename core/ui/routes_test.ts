import assert from "node:assert/strict";
import { UI_ASSETS, uiRoutes } from "./routes.ts";

Deno.test("uiRoutes() serves the page and its assets", async (t) => {
  const app = uiRoutes();
  await t.step("/ui redirects to ui/ (relative) and keeps the filters", async () => {
    const res = await app.request("/ui?verdict=DROPPED");
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "ui/?verdict=DROPPED");
  });
  await t.step("/ui/ is the page, with a strict content security policy", async () => {
    const res = await app.request("/ui/");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    assert.match(
      res.headers.get("content-security-policy")!,
      /default-src 'none'; script-src 'self'/,
    );
    const html = await res.text();
    assert.match(html, /<script type="module" src="app.js">/);
    assert.doesNotMatch(html, /https?:\/\//, "nothing is loaded from elsewhere");
  });
  await t.step("every module the page imports is served as JavaScript", async () => {
    const seen = new Set<string>();
    const queue = ["app.js"];
    while (queue.length) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const res = await app.request(`/ui/${name}`);
      assert.equal(res.status, 200, name);
      assert.match(res.headers.get("content-type")!, /^text\/javascript/);
      for (const m of (await res.text()).matchAll(/^import .* from "\.\/([a-z_]+\.js)";$/gm)) {
        queue.push(m[1]!);
      }
    }
    assert.deepEqual(
      [...seen].sort(),
      [...UI_ASSETS.keys()].filter((k) => k.endsWith(".js")).sort(),
    );
    assert.match(await (await app.request("/ui/style.css")).text(), /--dropped:/);
  });
  await t.step("anything else under /ui/ is not found", async () => {
    assert.equal((await app.request("/ui/nope.js")).status, 404);
    assert.equal((await app.request("/ui/../deno.json")).status, 404);
  });
});

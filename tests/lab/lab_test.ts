import assert from "node:assert/strict";
import { Lab, listLabs } from "./lab.ts";
import { listNetns, run } from "./netns.ts";
import { ping } from "./traffic.ts";

async function rootNetworkState(): Promise<string> {
  const routes = (await run(["ip", "-j", "route", "show", "table", "all"])).stdout;
  const addrs = (await run(["ip", "-j", "addr"])).stdout;
  const ifaces = JSON.parse(addrs) as Array<
    { ifname: string; addr_info: Array<{ local: string }> }
  >;
  return JSON.stringify({
    routes: JSON.parse(routes).length,
    addrs: ifaces.map((i) => [i.ifname, i.addr_info.map((a) => a.local).sort()]).sort(),
  });
}

Deno.test("Lab builds a bridged cluster in namespaces only, and destroy() removes all of it", async () => {
  const before = await rootNetworkState();
  const lab = await Lab.create({ nodes: 2 });
  let destroyed = false;
  try {
    const [n1, n2] = [lab.node("n1"), lab.node("n2")];
    assert.deepEqual(await ping(n1.ns, n2.ip, 2), { sent: 2, received: 2 });
    assert.deepEqual(await ping(n2.ns, lab.external.ip, 2), { sent: 2, received: 2 });
    assert.equal(
      await rootNetworkState(),
      before,
      "the root namespace gained no routes or addresses",
    );
    assert.ok((await listLabs()).includes(lab.id));
    await lab.destroy();
    destroyed = true;
    const left = (await listNetns()).filter((n) => n.startsWith(`hl-${lab.id}-`));
    assert.deepEqual(left, []);
    await assert.rejects(Deno.stat(lab.dir), Deno.errors.NotFound);
  } finally {
    if (!destroyed) await lab.destroy();
  }
});

Deno.test("Lab cleanup runs when the test body throws", async () => {
  let id = "";
  await assert.rejects(
    (async () => {
      await using lab = await Lab.create({ nodes: 1 });
      id = lab.id;
      throw new Error("test body failed");
    })(),
    /test body failed/,
  );
  assert.ok(id);
  assert.deepEqual((await listNetns()).filter((n) => n.startsWith(`hl-${id}-`)), []);
});

Deno.test("Lab.create() rejects bad node names", async () => {
  await assert.rejects(Lab.create({ nodes: ["Bad_Name"] }), /Lab node name "Bad_Name"/);
});

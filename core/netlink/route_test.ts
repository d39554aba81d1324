// reconcileRoutes() in a real network namespace (created and removed here): a route the kernel
// refuses, or one with an invalid field, is reported while every other change is made, and what
// the kernel holds for an invalid route's destination is left alone.
import assert from "node:assert/strict";
import { NetlinkError } from "./exec.ts";
import { listHyphaRoutes, reconcileRoutes } from "./route.ts";

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

Deno.test("reconcileRoutes() makes every valid change and reports the rest", async () => {
  const name = `hypha-rt-${crypto.randomUUID().slice(0, 8)}`;
  const netns = `/var/run/netns/${name}`;
  await ip("netns", "add", name);
  try {
    await ip("-n", name, "link", "add", "name", "d0", "type", "veth", "peer", "name", "d1");
    await ip("-n", name, "link", "set", "dev", "d1", "up");
    await ip("-n", name, "addr", "add", "10.9.0.1/24", "dev", "d0");
    await ip("-n", name, "link", "set", "dev", "d0", "up");
    await reconcileRoutes([
      { dst: "10.244.1.0/24", dev: "d0" },
      { dst: "10.244.2.0/24", dev: "d0" },
    ], { netns });
    const err = await reconcileRoutes([
      { dst: "10.244.1.0/24", dev: "d0" },
      // an invalid field: the installed route for 10.244.2.0/24 stays as it is
      { dst: "10.244.2.0/24", dev: "d0 table 7" },
      // the kernel refuses this gateway (not on a connected network); the next lines still run
      { dst: "10.244.3.0/24", via: "192.0.2.1", dev: "d0" },
      { dst: "10.244.4.0/24", via: "10.9.0.2", dev: "d0" },
      { dst: "10.244.5.0/24", dev: "d0" },
    ], { netns }).then(() => undefined, (e) => e);
    assert.ok(err instanceof NetlinkError, String(err));
    assert.match(err.message, /^2 route change\(s\) not made \(the others were\): /);
    assert.match(err.message, /Invalid interface name "d0 table 7" for route\.dev/);
    assert.match(err.message, /"route replace 10\.244\.3\.0\/24 via 192\.0\.2\.1 dev d0 proto 77"/);
    const routes = (await listHyphaRoutes({ netns })).map((r) => `${r.dst} ${r.via ?? "-"}`)
      .sort();
    assert.deepEqual(routes, [
      "10.244.1.0/24 -",
      "10.244.2.0/24 -",
      "10.244.4.0/24 10.9.0.2",
      "10.244.5.0/24 -",
    ]);
  } finally {
    await ip("netns", "del", name);
  }
});

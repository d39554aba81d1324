// TLS with client certificates and etcd's user/password auth against a real member.
import assert from "node:assert/strict";
import { run } from "../../tests/lab/netns.ts";
import { etcdctlTlsFlags } from "../../tests/lab/etcd.ts";
import { tlsOf, waitFor, withEtcd } from "./_testing.ts";
import { EtcdClient } from "./client.ts";
import { EtcdError, GrpcCode } from "./errors.ts";
import type { WatchEvent } from "./types.ts";

Deno.test("EtcdClient authenticates over TLS, is held to its role, and renews a token etcd forgot", async () => {
  await withEtcd(1, async (cluster, connect, pki) => {
    const etcdctl = (...args: string[]) =>
      run([
        "etcdctl",
        `--endpoints=${cluster.endpoints[0]}`,
        ...etcdctlTlsFlags(cluster.tls),
        ...args,
      ]);
    await etcdctl("user", "add", "root:root-pw");
    await etcdctl("user", "add", "n1:n1-secret-pw");
    await etcdctl("role", "add", "node-n1");
    await etcdctl("role", "grant-permission", "node-n1", "readwrite", "/n1/", "--prefix=true");
    await etcdctl("user", "grant-role", "n1", "node-n1");
    await etcdctl("auth", "enable");

    // etcd's gateway refuses a client certificate with a common name once auth is on.
    const withCn = connect({ auth: { username: "n1", password: "n1-secret-pw" } });
    const cnErr = await withCn.put("/n1/a", "x").catch((e) => e);
    assert.ok(cnErr instanceof EtcdError, String(cnErr));
    assert.match(cnErr.message, /must have no common name \(hypha certs issue --no-cn\)/);

    await pki!.issue({ name: "n1-etcd", usage: ["client"], days: 1, noCommonName: true });
    const tls = await tlsOf(pki!, "n1-etcd");
    const n1 = connect({ tls, auth: { username: "n1", password: "n1-secret-pw" } });
    await n1.put("/n1/a", "1");
    assert.equal((await n1.get("/n1/a"))?.value, "1");
    const denied = await n1.put("/n2/a", "1").catch((e) => e);
    assert.ok(denied instanceof EtcdError && denied.code === GrpcCode.permissionDenied);
    assert.equal(denied.unavailable, false);

    const anonymous = connect({ tls });
    await assert.rejects(anonymous.get("/n1/a"), /user name is empty/);
    const wrong = connect({ tls, auth: { username: "n1", password: "wrong-pw" } });
    const authErr = await wrong.get("/n1/a").catch((e) => e);
    assert.match(authErr.message, /^etcd authenticate as "n1": .*invalid user ID or password/);
    assert.doesNotMatch(authErr.message, /wrong-pw/);

    // Watches carry the token too.
    const seen: WatchEvent[] = [];
    const watch = n1.watch("/n1/", { onEvents: (events) => void seen.push(...events) });
    await watch.ready;
    await n1.put("/n1/b", "2");
    await waitFor("the watched put", () => seen.length === 1);

    // A restarted member has forgotten every simple token: calls and the watch get new ones.
    await cluster.restart(0);
    await n1.put("/n1/c", "3");
    await waitFor("the put after the restart", () => seen.some((e) => e.key === "/n1/c"));
    await watch.close();
  }, { tls: true });
});

Deno.test("EtcdClient refuses endpoints that do not match its TLS setting", () => {
  assert.throws(
    () => new EtcdClient({ endpoints: ["https://127.0.0.1:1"] }),
    /is https: TLS needs the CA/,
  );
  assert.throws(
    () => new EtcdClient({ endpoints: ["http://127.0.0.1:1"], tls: { caPem: "" } }),
    /is not https although TLS is configured/,
  );
});

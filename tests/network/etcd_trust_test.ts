// The cluster store's trust boundary in a lab: etcd with TLS and client certificates (peers too),
// a user per node whose role writes only that node's keys, and a half-open connection to an etcd
// member (its traffic dropped by nftables in the members' namespace) noticed within the configured
// watch liveness, after which the agents' state converges through the other members.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Lab } from "../lab/lab.ts";
import { inNs } from "../lab/netns.ts";
import { waitFor as waitUntil } from "../lab/wait.ts";

const waitFor = (check: () => Promise<boolean>, what: string) => waitUntil(what, check, 30_000);

const LIVENESS_S = 3;

Deno.test("etcd over TLS with per-node users, and a half-open member noticed within the watch liveness", async (t) => {
  await using lab = await Lab.create({
    nodes: 3,
    etcd: 3,
    etcdAuth: true,
    nodeConfig: { store: { etcd: { watchLiveness: LIVENESS_S } } },
  });
  const known = async (node: string) =>
    (JSON.parse((await lab.hypha(node, ["node", "list", "-o", "json"])).stdout).nodes as Array<
      { name: string }
    >).map((n) => n.name).sort();

  await t.step("agents register over TLS with their own etcd users", async () => {
    await Promise.all(["n1", "n2"].map((n) => lab.node(n).agent.start()));
    for (const n of ["n1", "n2"]) {
      await waitFor(async () => (await known(n)).join() === "n1,n2", `${n} knows n1 and n2`);
    }
  });

  await t.step("a node's credentials cannot write another node's record or endpoints", async () => {
    const n1 = lab.node("n1");
    const tls = lab.tlsFiles("n1-etcd");
    const password = (await Deno.readTextFile(join(n1.dir, "etcd-password"))).trim();
    const etcdctl = (user: string | undefined, ...args: string[]) =>
      inNs(n1.ns, [
        "etcdctl",
        `--endpoints=${lab.etcd!.endpoints.join(",")}`,
        `--cacert=${tls.ca}`,
        `--cert=${tls.cert}`,
        `--key=${tls.key}`,
        ...(user ? [`--user=${user}`] : []),
        ...args,
      ], { allowFail: true, timeoutMs: 20_000 });
    const base = lab.etcdBase;
    for (const key of [`${base}nodes/n2`, `${base}endpoints/n2/1`, `${base}nodes/n10`]) {
      const r = await etcdctl(`n1:${password}`, "put", key, "{}");
      assert.notEqual(r.code, 0, `n1 wrote ${key}`);
      assert.match(r.stderr, /permission denied/, key);
    }
    const own = await etcdctl(`n1:${password}`, "put", `${base}endpoints/n1/999999`, "{}");
    assert.equal(own.code, 0, own.stderr);
    assert.equal((await etcdctl(`n1:${password}`, "del", `${base}endpoints/n1/999999`)).code, 0);
    // A certificate alone is no etcd user (it has no common name), a wrong password is refused.
    assert.match((await etcdctl(undefined, "put", `${base}nodes/n1`, "{}")).stderr, /denied|empty/);
    assert.match(
      (await etcdctl("n1:wrong", "get", `${base}nodes/n2`)).stderr,
      /authentication failed/,
    );
    // Without a client certificate etcd refuses the TLS handshake itself.
    const certless = await inNs(n1.ns, [
      "curl",
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      tls.ca,
      "-X",
      "POST",
      "-d",
      "{}",
      `${lab.etcd!.endpoints[0]}/v3/maintenance/status`,
    ], { allowFail: true });
    assert.notEqual(certless.code, 0, certless.stdout);
  });

  await t.step(
    "a half-open etcd member is noticed within the liveness and state converges",
    async () => {
      // Every agent watches through the first endpoint: drop that member's client traffic both
      // ways, silently (no RST), in the members' namespace.
      const port = new URL(lab.etcd!.endpoints[0]!).port;
      const rules = join(lab.dir, "blackhole.nft");
      await Deno.writeTextFile(
        rules,
        `table inet hypha_blackhole {
  chain input { type filter hook input priority 0; tcp dport ${port} drop; }
  chain output { type filter hook output priority 0; tcp sport ${port} drop; }
}
`,
      );
      await inNs(lab.kv.ns, ["nft", "-f", rules]);
      try {
        // A node joins while n1's watches sit on the dropped connection.
        await lab.node("n3").agent.start({ timeoutMs: 60_000 });
        await waitFor(async () => (await known("n1")).join() === "n1,n2,n3", "n1 learns of n3");
        const log = await lab.node("n1").agent.logTail(400);
        const silences = [...log.matchAll(/no sign of life for (\d+) ms \(liveness (\d+) ms\)/g)];
        assert.ok(silences.length > 0, `n1 never noticed the dead stream:\n${log}`);
        for (const m of silences) assert.equal(Number(m[2]), LIVENESS_S * 1000);
      } finally {
        await inNs(lab.kv.ns, ["nft", "delete", "table", "inet", "hypha_blackhole"]);
      }
      for (const n of ["n1", "n2", "n3"]) {
        await waitFor(async () => (await known(n)).join() === "n1,n2,n3", `${n} knows every node`);
      }
    },
  );
});

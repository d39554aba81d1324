import assert from "node:assert/strict";
import { filesOf, testPki } from "./_testing.ts";
import { mutualTlsClientOptions } from "./client.ts";
import { loadTlsMaterial } from "./material.ts";
import { type PeerIdentity, serveMutualTls } from "./server.ts";

async function get(url: string, opts: Deno.CreateHttpClientOptions) {
  using client = Deno.createHttpClient(opts);
  try {
    const res = await fetch(url, { client, signal: AbortSignal.timeout(5000) });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    return { status: 0, text: String((err as Error).cause ?? err) };
  }
}

async function curl(...args: string[]): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "5", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { ok: out.success, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("serveMutualTls() serves only clients with a valid, unrevoked CA certificate", async () => {
  await using pki = await testPki(["srv", "n1", "n2"]);
  await using other = await testPki(["n1"]);
  const tls = await loadTlsMaterial(filesOf(pki, "srv", true), "test.tls");
  const seen: PeerIdentity[] = [];
  const refused: string[] = [];
  const server = await serveMutualTls({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    handler: (req, peer) => {
      seen.push(peer);
      return Response.json({ path: new URL(req.url).pathname, peer: peer.name });
    },
    onRefused: (peer, reason) => refused.push(`${peer.name}: ${reason}`),
  });
  try {
    const url = `https://${server.address}/v1/flows`;
    const n1 = await loadTlsMaterial(filesOf(pki, "n1"), "client");
    const ok = await get(url, mutualTlsClientOptions(n1));
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(JSON.parse(ok.text), { path: "/v1/flows", peer: "n1" });

    const none = await get(url, { caCerts: [tls.caPem] });
    assert.equal(none.status, 0);
    assert.match(none.text, /CertificateRequired|certificate required/i);

    const foreign = await loadTlsMaterial(filesOf(other, "n1"), "client");
    const wrongCa = await get(url, { ...mutualTlsClientOptions(foreign), caCerts: [tls.caPem] });
    assert.equal(wrongCa.status, 0, "a certificate of another CA gets nothing");

    // A real client: curl with and without a certificate.
    const c = ["--cacert", pki.path("ca.crt")];
    const withCert = await curl(
      ...c,
      "--cert",
      pki.path("n2.crt"),
      "--key",
      pki.path("n2.key"),
      url,
    );
    assert.ok(withCert.ok, withCert.text);
    assert.match(withCert.text, /"peer":"n2"/);
    const noCert = await curl(...c, url);
    assert.ok(!noCert.ok);
    assert.doesNotMatch(noCert.text, /flows/);

    // Revoke n2: the listener re-reads the list and cuts n2 off; n1 still gets answers.
    await pki.revoke("n2");
    const deadline = Date.now() + 10_000;
    let revoked = await get(
      url,
      mutualTlsClientOptions(await loadTlsMaterial(filesOf(pki, "n2"), "c")),
    );
    while (revoked.status !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100)); // the list is re-read at most once a second
      revoked = await get(
        url,
        mutualTlsClientOptions(await loadTlsMaterial(filesOf(pki, "n2"), "c")),
      );
    }
    assert.equal(revoked.status, 0, "a revoked certificate gets nothing");
    assert.ok(refused.some((r) => r === "n2: certificate revoked"), refused.join());
    assert.equal((await get(url, mutualTlsClientOptions(n1))).status, 200);
    assert.ok(seen.every((p) => p.name === "n1" || p.name === "n2"));
  } finally {
    await server.close();
  }
});

Deno.test("serveMutualTls() answers 413 to a body over the limit", async () => {
  await using pki = await testPki(["srv", "n1"]);
  const tls = await loadTlsMaterial(filesOf(pki, "srv"), "test.tls");
  const server = await serveMutualTls({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    maxBodyBytes: 1000,
    handler: async (req) => new Response(`got ${(await req.text()).length}`),
  });
  try {
    const n1 = await loadTlsMaterial(filesOf(pki, "n1"), "client");
    using client = Deno.createHttpClient(mutualTlsClientOptions(n1));
    const post = async (n: number) => {
      const res = await fetch(`https://${server.address}/x`, {
        method: "POST",
        body: "a".repeat(n),
        client,
      });
      return { status: res.status, text: await res.text() };
    };
    assert.deepEqual(await post(1000), { status: 200, text: "got 1000" });
    const big = await post(5000);
    assert.equal(big.status, 413);
    assert.match(big.text, /larger than 1000 bytes/);
  } finally {
    await server.close();
  }
});

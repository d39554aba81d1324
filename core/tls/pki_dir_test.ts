import assert from "node:assert/strict";
import { filesOf, testPki } from "./_testing.ts";
import { loadTlsMaterial, TlsConfigError } from "./material.ts";
import { PkiDir } from "./pki_dir.ts";

async function openssl(...args: string[]): Promise<{ ok: boolean; text: string }> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { ok: out.success, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("PkiDir issues certificates OpenSSL verifies against the CA, files 0600", async () => {
  await using pki = await testPki(["n1"], { ips: ["10.0.0.11", "fd00::11"] });
  for (const f of ["ca.crt", "ca.key", "n1.crt", "n1.key", "crl.pem"]) {
    assert.equal((await Deno.stat(pki.path(f))).mode! & 0o777, 0o600, f);
  }
  const verify = await openssl("verify", "-CAfile", pki.path("ca.crt"), pki.path("n1.crt"));
  assert.ok(verify.ok, verify.text);
  const text = (await openssl("x509", "-in", pki.path("n1.crt"), "-noout", "-text")).text;
  assert.match(text, /IP Address:10\.0\.0\.11/);
  assert.match(text, /IP Address:FD00:0:0:0:0:0:0:11/);
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  const crl = await openssl("crl", "-in", pki.path("crl.pem"), "-CAfile", pki.path("ca.crt"));
  assert.ok(crl.ok, crl.text);
  assert.match(crl.text, /verify OK/);
});

Deno.test("PkiDir.revoke() lists the certificate's serial in a CRL OpenSSL accepts", async () => {
  await using pki = await testPki(["n1", "n2"]);
  const serial = await pki.revoke("n2");
  assert.equal(await pki.revoke("n2"), serial, "revoking twice keeps one entry");
  assert.deepEqual((await pki.revoked()).map((e) => e.serial), [serial]);
  const args = ["verify", "-crl_check", "-CAfile", pki.path("ca.crt"), "-CRLfile"];
  const n2 = await openssl(...args, pki.path("crl.pem"), pki.path("n2.crt"));
  assert.ok(!n2.ok);
  assert.match(n2.text, /certificate revoked/);
  const n1 = await openssl(...args, pki.path("crl.pem"), pki.path("n1.crt"));
  assert.ok(n1.ok, n1.text);
});

Deno.test("PkiDir refuses to replace a CA or a certificate, and bad names", async () => {
  await using pki = await testPki(["n1"]);
  await assert.rejects(() => pki.createCa({ name: "again", days: 1 }), /exists: a directory/);
  await assert.rejects(
    () => pki.issue({ name: "n1", ips: ["127.0.0.1"], usage: ["server"], days: 1 }),
    /exists: revoke it first, or pass --replace/,
  );
  await assert.rejects(
    () => pki.issue({ name: "../x", ips: ["127.0.0.1"], usage: ["server"], days: 1 }),
    /certificate name "\.\.\/x"/,
  );
  await assert.rejects(
    () => pki.issue({ name: "n3", ips: ["10.0.0.300"], usage: ["server"], days: 1 }),
    /IP "10\.0\.0\.300"/,
  );
  await assert.rejects(
    () => pki.issue({ name: "n4", usage: ["server"], days: 1 }),
    /needs at least one IP or DNS name/,
  );
  await assert.rejects(
    () => pki.issue({ name: "n5", ips: ["127.0.0.1"], usage: ["client"], days: 30 }),
    /would outlive its CA/,
  );
  const empty = new PkiDir(await Deno.makeTempDir());
  await assert.rejects(() => empty.revoke("n1"), /no CA in/);
  await Deno.remove(empty.dir, { recursive: true });
});

Deno.test("loadTlsMaterial() names the field and the fix for each bad file", async () => {
  await using pki = await testPki(["n1", "n2"]);
  await using other = await testPki(["n1"]);
  const field = "observability.peer.tls";
  const ok = await loadTlsMaterial(filesOf(pki, "n1", true), field);
  assert.equal(ok.cert.subject, "CN=n1");
  assert.deepEqual(ok.warnings, []);
  const bad = async (files: Parameters<typeof loadTlsMaterial>[0], re: RegExp, now?: Date) => {
    try {
      await loadTlsMaterial(files, field, now);
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof TlsConfigError, String(e));
      assert.match(e.message, re);
    }
  };
  await bad({ ...filesOf(pki, "n1"), ca: "" }, /tls\.ca: is required/);
  await bad(
    { ...filesOf(pki, "n1"), cert: "/nonexistent" },
    /tls\.cert: cannot read "\/nonexistent"/,
  );
  await bad({ ...filesOf(pki, "n1"), key: pki.path("n2.key") }, /tls\.key: .* is not the key of/);
  await bad({ ...filesOf(pki, "n1"), ca: other.path("ca.crt") }, /tls\.cert: .* is not signed by/);
  await bad({ ...filesOf(pki, "n1"), key: pki.path("n1.crt") }, /tls\.key: .*PRIVATE KEY/);
  await bad({ ...filesOf(pki, "n1"), cert: pki.path("n1.key") }, /tls\.cert: .*no "CERTIFICATE"/);
  await bad(filesOf(pki, "n1"), /expired on .*hypha certs issue/, new Date(Date.now() + 3e8));
  await bad(
    { ...filesOf(pki, "n1"), crl: other.path("crl.pem") },
    /tls\.crl: .* is not signed by the CA/,
  );
  await Deno.chmod(pki.path("n1.key"), 0o644);
  const loose = await loadTlsMaterial(filesOf(pki, "n1"), field);
  assert.match(loose.warnings[0]!, /readable by others \(mode 644\): chmod 600/);
});

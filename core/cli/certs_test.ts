import assert from "node:assert/strict";
import { main } from "./main.ts";

const run = async (...args: string[]) => {
  const lines: string[] = [];
  const code = await main(args, { out: (t) => lines.push(t), err: (t) => lines.push(t) });
  return { code, text: lines.join("\n") };
};

Deno.test("hypha certs makes a CA, issues, shows and revokes node certificates", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = `${dir}/pki`;
    assert.equal((await run("certs", "ca", "--dir", pki)).code, 0);
    const issued = await run("certs", "issue", "n1", "--dir", pki, "--ip", "10.1.0.11");
    assert.equal(issued.code, 0, issued.text);
    const shown = await run("certs", "show", `${pki}/n1.crt`);
    assert.match(shown.text, /subject {2}CN=n1\n/);
    assert.match(shown.text, /names {4}IP: 10\.1\.0\.11/);
    const revoked = await run("certs", "revoke", "n1", "--dir", pki);
    assert.match(revoked.text, /^revoked n1 \(serial [0-9a-f]+\); copy .*crl\.pem to every node$/);

    const bad = [
      [["certs", "issue", "n2", "--dir", pki], /needs at least one IP or DNS name/],
      [["certs", "issue", "n2", "--dir", pki, "--ip", "1.2.3"], /IP "1\.2\.3"/],
      [["certs", "issue", "n2", "--dir", pki, "--ip", "1.2.3.4", "--usage", "x"], /--usage "x"/],
      [["certs", "issue", "n2", "--dir", pki, "--ip", "1.2.3.4", "--days", "0"], /--days "0"/],
      [["certs", "issue", "n1", "--dir", pki, "--ip", "1.2.3.4"], /exists: revoke it first/],
      [["certs", "ca", "--dir", pki], /exists: a directory holds one CA/],
      [["certs", "issue", "n2", "--ip", "1.2.3.4"], /needs --dir DIR/],
      [["certs", "revoke", "n9", "--dir", pki], /no certificate .*n9\.crt/],
      [["certs", "frobnicate"], /unknown certs command "frobnicate"/],
    ] as const;
    for (const [args, re] of bad) {
      const r = await run(...args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.text, re);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

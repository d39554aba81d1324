// Test certificates: a CA directory with a server/client certificate per name, in a temp dir.
import { PkiDir } from "./pki_dir.ts";

export async function testPki(
  names: string[],
  opts: { ips?: string[] } = {},
): Promise<PkiDir & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-pki-" });
  const pki = new PkiDir(dir) as PkiDir & AsyncDisposable;
  pki[Symbol.asyncDispose] = () => Deno.remove(dir, { recursive: true });
  await pki.createCa({ name: "hypha test CA", days: 2 });
  for (const name of names) {
    await pki.issue({
      name,
      ips: opts.ips ?? ["127.0.0.1"],
      dns: [name],
      usage: ["server", "client"],
      days: 1,
    });
  }
  return pki;
}

export function filesOf(pki: PkiDir, name: string, crl = false) {
  return {
    ca: pki.path("ca.crt"),
    cert: pki.path(`${name}.crt`),
    key: pki.path(`${name}.key`),
    ...(crl ? { crl: pki.path("crl.pem") } : {}),
  };
}

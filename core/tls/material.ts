// TLS material from files named in config (a CA bundle, this holder's certificate and key, and
// optionally the CA's revocation list), checked before anything listens or connects: each file
// readable and of the right kind, the key belongs to the certificate, the certificate is signed
// by the CA and valid now. Errors name the config field, the file and the fix.
import { x509 } from "./x509.ts";
import { importKeyPem, parseCertificates } from "./x509.ts";
import { RevocationFile } from "./revocation.ts";

/** Paths as config holds them (`<field>.ca`, `.cert`, `.key`, `.crl`; "" = not set). */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
  crl?: string;
}

export interface TlsMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** This holder's certificate. */
  cert: x509.X509Certificate;
  /** The CA certificates peers must chain to. */
  cas: x509.X509Certificate[];
  /** The revocation list peers are checked against, when configured. */
  revocation?: RevocationFile;
  /** Things that work but should be fixed (e.g. a key readable by others). */
  warnings: string[];
}

export class TlsConfigError extends Error {
  override name = "TlsConfigError";
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

async function readPem(field: string, path: string): Promise<string> {
  if (!path) throw new TlsConfigError(field, "is required (a PEM file path)");
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new TlsConfigError(field, `cannot read "${path}": ${(err as Error).message}`);
  }
}

/** Signs a challenge with `key` and checks it with the certificate's public key. */
async function keyMatches(key: CryptoKey, cert: x509.X509Certificate): Promise<boolean> {
  const challenge = crypto.getRandomValues(new Uint8Array(32));
  const alg = { name: "ECDSA", hash: "SHA-256" };
  const signature = await crypto.subtle.sign(alg, key, challenge);
  const publicKey = await cert.publicKey.export(
    { name: "ECDSA", namedCurve: "P-256" },
    ["verify"],
  );
  return await crypto.subtle.verify(alg, publicKey, signature, challenge);
}

async function signedByOneOf(
  cert: x509.X509Certificate,
  cas: x509.X509Certificate[],
): Promise<boolean> {
  for (const ca of cas) {
    if (await cert.verify({ publicKey: ca, signatureOnly: true }).catch(() => false)) return true;
  }
  return false;
}

/**
 * Reads and checks the files of one TLS endpoint. `field` is the config path of the section
 * (e.g. "observability.peer.tls") for error messages.
 */
export async function loadTlsMaterial(
  files: TlsFiles,
  field: string,
  now = new Date(),
): Promise<TlsMaterial> {
  const warnings: string[] = [];
  const caPem = await readPem(`${field}.ca`, files.ca);
  const certPem = await readPem(`${field}.cert`, files.cert);
  const keyPem = await readPem(`${field}.key`, files.key);
  let cas: x509.X509Certificate[];
  try {
    cas = parseCertificates(caPem);
  } catch (err) {
    throw new TlsConfigError(`${field}.ca`, `"${files.ca}": ${(err as Error).message}`);
  }
  let cert: x509.X509Certificate;
  try {
    cert = parseCertificates(certPem)[0]!;
  } catch (err) {
    throw new TlsConfigError(`${field}.cert`, `"${files.cert}": ${(err as Error).message}`);
  }
  let key: CryptoKey;
  try {
    key = await importKeyPem(keyPem);
  } catch (err) {
    throw new TlsConfigError(`${field}.key`, `"${files.key}": ${(err as Error).message}`);
  }
  if (!(await keyMatches(key, cert).catch(() => false))) {
    throw new TlsConfigError(
      `${field}.key`,
      `"${files.key}" is not the key of the certificate "${files.cert}" (${cert.subject})`,
    );
  }
  if (!(await signedByOneOf(cert, cas))) {
    throw new TlsConfigError(
      `${field}.cert`,
      `"${files.cert}" (${cert.subject}, issuer ${cert.issuer}) is not signed by the CA in ` +
        `"${files.ca}"`,
    );
  }
  if (now < cert.notBefore) {
    throw new TlsConfigError(
      `${field}.cert`,
      `"${files.cert}" is not valid before ${cert.notBefore.toISOString()} (is the clock right?)`,
    );
  }
  if (now > cert.notAfter) {
    throw new TlsConfigError(
      `${field}.cert`,
      `"${files.cert}" expired on ${cert.notAfter.toISOString()}: issue a new one ` +
        "(hypha certs issue)",
    );
  }
  try {
    const mode = (await Deno.stat(files.key)).mode ?? 0;
    if (mode & 0o077) {
      warnings.push(
        `${field}.key: "${files.key}" is readable by others (mode ${
          (mode & 0o777).toString(8)
        }): chmod 600 it`,
      );
    }
  } catch {
    // read a moment ago; a stat failure here changes nothing
  }
  let revocation: RevocationFile | undefined;
  if (files.crl) {
    revocation = new RevocationFile(files.crl, cas);
    const problem = await revocation.load();
    if (problem) throw new TlsConfigError(`${field}.crl`, problem);
  }
  return {
    caPem,
    certPem,
    keyPem,
    cert,
    cas,
    ...(revocation ? { revocation } : {}),
    warnings,
  };
}

// The one door to the X.509 library (@peculiar/x509 over WebCrypto): everything in core/tls that
// builds or parses certificates, keys and revocation lists imports it from here, so the library's
// set-up (its reflection polyfill and crypto provider) happens once.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };

/** Every key hypha makes: ECDSA on P-256 with SHA-256 (small, fast, accepted by etcd and rustls). */
export const KEY_ALGORITHM = {
  name: "ECDSA",
  namedCurve: "P-256",
  hash: "SHA-256",
} as const;

/** PEM label OpenSSL, etcd and Go expect for a revocation list (the library writes "CRL"). */
export const CRL_PEM_LABEL = "X509 CRL";

/** A serial number as one canonical text: lowercase hex without leading zeros. */
export function canonicalSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

/** A PKCS#8 private key in PEM form (the form `hypha certs` writes). */
export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 ECDSA P-256 private key; throws an Error saying what is wrong. */
export async function importKeyPem(pem: string): Promise<CryptoKey> {
  let der: ArrayBuffer;
  try {
    const blocks = x509.PemConverter.decodeWithHeaders(pem);
    const block = blocks.find((b) => b.type === "PRIVATE KEY");
    if (!block) {
      const types = blocks.map((b) => b.type).join(", ") || "no PEM block";
      throw new Error(`expected a "PRIVATE KEY" (PKCS#8) PEM block, found ${types}`);
    }
    der = block.rawData;
  } catch (err) {
    throw new Error(`not a PEM private key: ${(err as Error).message}`);
  }
  try {
    return await crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, true, ["sign"]);
  } catch (err) {
    throw new Error(`not an ECDSA P-256 key: ${(err as Error).message}`);
  }
}

/** The certificates of a PEM bundle, in order; throws when there is none. */
export function parseCertificates(pem: string): x509.X509Certificate[] {
  const blocks = x509.PemConverter.decodeWithHeaders(pem).filter((b) => b.type === "CERTIFICATE");
  if (blocks.length === 0) throw new Error('no "CERTIFICATE" PEM block');
  return blocks.map((b) => new x509.X509Certificate(b.rawData));
}

// Making certificates: a cluster CA, certificates it signs for nodes and clients, and the CA's
// revocation list. Pure (no files): pki_dir.ts keeps the results on disk.
import { parseIpOrReason } from "../ipam/ip.ts";
import {
  canonicalSerial,
  CRL_PEM_LABEL,
  exportKeyPem,
  importKeyPem,
  KEY_ALGORITHM,
  parseCertificates,
  x509,
} from "./x509.ts";

/** A certificate and its private key, PEM. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate extends CertifiedKey {
  /** Canonical hex (see canonicalSerial). */
  serial: string;
  notAfter: Date;
}

export interface AuthorityOptions {
  /** The CA's common name, e.g. "hypha CA (cluster default)". */
  name: string;
  days: number;
  now?: Date;
}

export interface CertificateOptions {
  /** The common name: the node name (or a client's user name, e.g. for etcd). */
  name: string;
  /** IP addresses the certificate is valid for as a server. */
  ips?: readonly string[];
  /** DNS names the certificate is valid for as a server. */
  dns?: readonly string[];
  /** What the holder may do with it: serve (TLS server), connect (TLS client), or both. */
  usage: readonly ("server" | "client")[];
  days: number;
  now?: Date;
  /**
   * Leave the common name out of the subject (it becomes O=hypha, OU=<name>): etcd's JSON
   * gateway refuses a client certificate with a common name once etcd's auth is on, because it
   * cannot pass the name on as the user.
   */
  noCommonName?: boolean;
}

const DAY_MS = 86_400_000;
/** Backdated so a node whose clock is a little behind the issuer's accepts a new certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A positive 128-bit serial number, hex. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive and of full length
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function validity(days: number, now = new Date()): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(days) || days < 1 || days > 36_500) {
    throw new RangeError(`days ${days} must be a whole number from 1 to 36500`);
  }
  return {
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

/** A new self-signed CA that may sign end-entity certificates and revocation lists. */
export async function createAuthority(opts: AuthorityOptions): Promise<IssuedCertificate> {
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const serial = randomSerial();
  const { notBefore, notAfter } = validity(opts.days, opts.now);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: [{ CN: [opts.name] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: cert.toString("pem"),
    keyPem: await exportKeyPem(keys.privateKey),
    serial: canonicalSerial(serial),
    notAfter,
  };
}

/** A certificate for `opts.name` signed by `ca`, with a fresh key. */
export async function issueCertificate(
  ca: CertifiedKey,
  opts: CertificateOptions,
): Promise<IssuedCertificate> {
  if (!opts.name || /[\s,=+<>#;\\"]/.test(opts.name) || opts.name.length > 64) {
    throw new Error(
      `certificate name "${opts.name}" must be 1-64 characters without spaces or , = + < > # ; \\ "`,
    );
  }
  if (opts.usage.length === 0) throw new Error("a certificate needs a usage: server or client");
  const names: x509.JsonGeneralName[] = [];
  for (const ip of opts.ips ?? []) {
    const parsed = parseIpOrReason(ip);
    if (typeof parsed === "string") throw new Error(`IP "${ip}": ${parsed}`);
    names.push({ type: "ip", value: parsed.toString() });
  }
  for (const dns of opts.dns ?? []) {
    if (!/^(\*\.)?[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(dns)) {
      throw new Error(`DNS name "${dns}" is not a host name`);
    }
    names.push({ type: "dns", value: dns });
  }
  if (opts.usage.includes("server") && names.length === 0) {
    throw new Error(`a server certificate for "${opts.name}" needs at least one IP or DNS name`);
  }
  const [caCert] = parseCertificates(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
  const serial = randomSerial();
  const { notBefore, notAfter } = validity(opts.days, opts.now);
  if (notAfter > caCert!.notAfter) {
    throw new Error(
      `the certificate would outlive its CA (CA valid until ${caCert!.notAfter.toISOString()}): ` +
        "issue it for fewer days or make a new CA",
    );
  }
  const usages = opts.usage.map((u) =>
    u === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth
  );
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: opts.noCommonName ? [{ O: ["hypha"] }, { OU: [opts.name] }] : [{ CN: [opts.name] }],
    issuer: caCert!.subjectName,
    notBefore,
    notAfter,
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert!),
    ],
  });
  return {
    certPem: cert.toString("pem"),
    keyPem: await exportKeyPem(keys.privateKey),
    serial: canonicalSerial(serial),
    notAfter,
  };
}

export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

/** The CA's revocation list naming `revoked`, valid for `days`. */
export async function createRevocationList(
  ca: CertifiedKey,
  revoked: readonly RevokedEntry[],
  days: number,
  now = new Date(),
): Promise<string> {
  const [caCert] = parseCertificates(ca.certPem);
  const { notAfter } = validity(days, now);
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert!.subjectName,
    thisUpdate: now,
    nextUpdate: notAfter,
    entries: revoked.map((r) => ({ serialNumber: r.serial, revocationDate: r.revokedAt })),
    signingKey: await importKeyPem(ca.keyPem),
    signingAlgorithm: KEY_ALGORITHM,
  });
  return x509.PemConverter.encode(crl.rawData, CRL_PEM_LABEL);
}

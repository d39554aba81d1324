// A certificate directory as `hypha certs` keeps it, for a lab or a bare-metal set:
//   ca.crt ca.key          the cluster CA (ca.key never leaves this directory)
//   <name>.crt <name>.key  a node's (or client's) certificate and key
//   crl.pem                the CA's revocation list (what `revoke` wrote)
// Every file is written 0600 through writeStateFile() (temp file, fsync, rename, directory fsync).
import { join } from "node:path";
import {
  createAuthority,
  createRevocationList,
  issueCertificate,
  type IssuedCertificate,
  type RevokedEntry,
} from "./issue.ts";
import type { CertificateOptions, CertifiedKey } from "./issue.ts";
import { canonicalSerial, CRL_PEM_LABEL, parseCertificates, x509 } from "./x509.ts";
import { writeStateFile } from "../state_files/mod.ts";

export class PkiError extends Error {
  override name = "PkiError";
}

/** Days a revocation list stays valid; `revoke` writes a new one, so does `crl`. */
export const CRL_DAYS = 365;

export class PkiDir {
  constructor(readonly dir: string) {}

  path(file: string): string {
    return join(this.dir, file);
  }

  /** Makes the CA; refuses to replace one (every certificate it signed would be orphaned). */
  async createCa(opts: { name: string; days: number }): Promise<IssuedCertificate> {
    if (await exists(this.path("ca.key"))) {
      throw new PkiError(
        `"${this.path("ca.key")}" exists: a directory holds one CA (remove it to start over)`,
      );
    }
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const ca = await createAuthority(opts);
    await writeStateFile(this.path("ca.key"), ca.keyPem);
    await writeStateFile(this.path("ca.crt"), ca.certPem);
    await writeStateFile(this.path("crl.pem"), await createRevocationList(ca, [], CRL_DAYS));
    return ca;
  }

  async ca(): Promise<CertifiedKey> {
    try {
      return {
        certPem: await Deno.readTextFile(this.path("ca.crt")),
        keyPem: await Deno.readTextFile(this.path("ca.key")),
      };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new PkiError(`no CA in "${this.dir}": make one first (hypha certs ca --dir DIR)`);
      }
      throw err;
    }
  }

  /** Issues `<name>.crt` and `<name>.key`; refuses to overwrite unless `replace`. */
  async issue(opts: CertificateOptions & { replace?: boolean }): Promise<IssuedCertificate> {
    checkName(opts.name);
    const ca = await this.ca();
    if (!opts.replace && await exists(this.path(`${opts.name}.crt`))) {
      throw new PkiError(
        `"${this.path(`${opts.name}.crt`)}" exists: revoke it first, or pass --replace`,
      );
    }
    const issued = await issueCertificate(ca, opts);
    await writeStateFile(this.path(`${opts.name}.key`), issued.keyPem);
    await writeStateFile(this.path(`${opts.name}.crt`), issued.certPem);
    return issued;
  }

  /** Adds `<name>.crt`'s serial to the revocation list (crl.pem). Returns the serial. */
  async revoke(name: string, now = new Date()): Promise<string> {
    checkName(name);
    const ca = await this.ca();
    let pem: string;
    try {
      pem = await Deno.readTextFile(this.path(`${name}.crt`));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new PkiError(`no certificate "${this.path(`${name}.crt`)}" to revoke`);
      }
      throw err;
    }
    const serial = canonicalSerial(parseCertificates(pem)[0]!.serialNumber);
    const entries = await this.revoked();
    if (!entries.some((e) => e.serial === serial)) entries.push({ serial, revokedAt: now });
    await writeStateFile(
      this.path("crl.pem"),
      await createRevocationList(ca, entries, CRL_DAYS, now),
    );
    return serial;
  }

  /** The entries of crl.pem (none when there is no list yet). */
  async revoked(): Promise<RevokedEntry[]> {
    let pem: string;
    try {
      pem = await Deno.readTextFile(this.path("crl.pem"));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
    const block = x509.PemConverter.decodeWithHeaders(pem).find((b) => b.type === CRL_PEM_LABEL);
    if (!block) throw new PkiError(`"${this.path("crl.pem")}" holds no revocation list`);
    return new x509.X509Crl(block.rawData).entries.map((e) => ({
      serial: canonicalSerial(e.serialNumber),
      revokedAt: e.revocationDate,
    }));
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name) || name === "ca" || name === "crl") {
    throw new PkiError(
      `certificate name "${name}" must be 1-63 letters, digits, '.', '_' or '-' (not "ca"/"crl")`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

// The CA's revocation list (CRL) as peers are checked against it: which serial numbers the CA
// has revoked. The file is re-read when it changes, so `hypha certs revoke` followed by copying
// the list to the nodes takes effect without a restart. A list whose signature does not verify
// against the CA is refused (a forged list could only un-revoke, but it is still not the CA's).
import { canonicalSerial, CRL_PEM_LABEL, x509 } from "./x509.ts";

/** How often the file's modification time is looked at, at most. */
const RECHECK_MS = 1000;

export class RevocationFile {
  readonly path: string;
  readonly #cas: readonly x509.X509Certificate[];
  #revoked = new Set<string>();
  #mtime = -1;
  #checkedAt = 0;
  #problem: string | undefined;

  constructor(path: string, cas: readonly x509.X509Certificate[]) {
    this.path = path;
    this.#cas = cas;
  }

  /** Reads the file; returns why it cannot be used, or undefined. The last good list stays. */
  async load(): Promise<string | undefined> {
    try {
      const stat = await Deno.stat(this.path);
      this.#checkedAt = Date.now();
      const mtime = stat.mtime?.getTime() ?? 0;
      if (mtime === this.#mtime) return this.#problem;
      const pem = await Deno.readTextFile(this.path);
      this.#revoked = await parseRevocationList(pem, this.#cas);
      this.#mtime = mtime;
      this.#problem = undefined;
    } catch (err) {
      this.#problem = `"${this.path}": ${(err as Error).message}`;
    }
    return this.#problem;
  }

  /** Whether the CA revoked `serial` (hex, any case). Re-reads a changed file at most once a
   * second, in the background: the answer is the list as last read. */
  isRevoked(serial: string): boolean {
    if (Date.now() - this.#checkedAt >= RECHECK_MS) {
      this.#checkedAt = Date.now();
      void this.load();
    }
    return this.#revoked.has(canonicalSerial(serial));
  }

  get size(): number {
    return this.#revoked.size;
  }

  /** Why the last reload failed (the previous list is still in force), if it did. */
  get problem(): string | undefined {
    return this.#problem;
  }
}

/** The revoked serials of a PEM CRL whose signature verifies against one of `cas`. */
export async function parseRevocationList(
  pem: string,
  cas: readonly x509.X509Certificate[],
): Promise<Set<string>> {
  const block = x509.PemConverter.decodeWithHeaders(pem).find((b) =>
    b.type === CRL_PEM_LABEL || b.type === "CRL"
  );
  if (!block) throw new Error(`no "${CRL_PEM_LABEL}" PEM block`);
  const crl = new x509.X509Crl(block.rawData);
  let verified = false;
  for (const ca of cas) {
    if (await crl.verify({ publicKey: ca.publicKey }).catch(() => false)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    throw new Error(`the revocation list (issuer ${crl.issuer}) is not signed by the CA`);
  }
  return new Set(crl.entries.map((e) => canonicalSerial(e.serialNumber)));
}

// The TLS material and etcd user of a client, read from the files config names
// (`store.etcd.tls.{ca,cert,key}`, `username`, `passwordFile`) and checked before the first
// connection: errors name the config field and the file, never the password.
import { loadTlsMaterial, TlsConfigError } from "../tls/mod.ts";
import type { EtcdAuth, EtcdTls } from "./types.ts";

export interface EtcdCredentialFiles {
  tls: { ca: string; cert: string; key: string };
  username: string;
  passwordFile: string;
}

export interface EtcdCredentials {
  tls?: EtcdTls;
  auth?: EtcdAuth;
  /** Things that work but should be fixed (a key or password file readable by others). */
  warnings: string[];
}

/** Reads what `files` names; `field` is its config path (e.g. "store.etcd") for errors. */
export async function loadEtcdCredentials(
  files: EtcdCredentialFiles,
  field: string,
): Promise<EtcdCredentials> {
  const warnings: string[] = [];
  let tls: EtcdTls | undefined;
  if (files.tls.cert || files.tls.key) {
    // The whole chain is checked: key matches certificate, certificate signed by the CA, valid.
    const m = await loadTlsMaterial(files.tls, `${field}.tls`);
    warnings.push(...m.warnings);
    tls = { caPem: m.caPem, certPem: m.certPem, keyPem: m.keyPem };
  } else if (files.tls.ca) {
    const caPem = await readFile(`${field}.tls.ca`, files.tls.ca);
    if (!caPem.includes("-----BEGIN CERTIFICATE-----")) {
      throw new TlsConfigError(`${field}.tls.ca`, `"${files.tls.ca}" holds no PEM certificate`);
    }
    tls = { caPem };
  }
  let auth: EtcdAuth | undefined;
  if (files.username) {
    const path = files.passwordFile;
    const password = (await readFile(`${field}.passwordFile`, path)).split("\n")[0]!.trim();
    if (!password) {
      throw new TlsConfigError(
        `${field}.passwordFile`,
        `"${path}" is empty: put the password in it`,
      );
    }
    const mode = (await Deno.stat(path).catch(() => undefined))?.mode ?? 0;
    if (mode & 0o077) {
      warnings.push(
        `${field}.passwordFile: "${path}" is readable by others (mode ${
          (mode & 0o777).toString(8)
        }): chmod 600 it`,
      );
    }
    auth = { username: files.username, password };
  }
  return { ...(tls ? { tls } : {}), ...(auth ? { auth } : {}), warnings };
}

async function readFile(field: string, path: string): Promise<string> {
  if (!path) throw new TlsConfigError(field, "is required (a file path)");
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new TlsConfigError(field, `cannot read "${path}": ${(err as Error).message}`);
  }
}

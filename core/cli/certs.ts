// `hypha certs`: a cluster CA and the certificates its nodes present to each other (flow peers)
// and to etcd, for a lab or a bare-metal set. Operators with their own PKI skip this and point
// the config at their files. Offline: no agent needed.
import { PkiDir, PkiError } from "../tls/mod.ts";
import { parseCertificates } from "../tls/x509.ts";
import { one, type Parsed, UsageError } from "./args.ts";
import type { Io } from "./main.ts";

export const CERTS_FLAGS = {
  dir: {},
  ip: { repeat: true },
  dns: { repeat: true },
  usage: {},
  days: {},
  "ca-name": {},
} as const;

export const CERTS_BOOLEANS = ["replace", "no-cn"] as const;

export const CERTS_HELP = `  certs ca --dir DIR [--ca-name NAME] [--days 3650]
                             make a cluster CA in DIR (ca.crt, ca.key, crl.pem; files 0600)
  certs issue NAME --dir DIR [--ip IP]... [--dns NAME]... [--usage both|server|client]
              [--days 365] [--replace] [--no-cn]
                             a certificate for a node (or an etcd user) signed by DIR's CA;
                             --no-cn: no common name (etcd's JSON gateway refuses one with auth on)
  certs revoke NAME --dir DIR  add NAME's certificate to DIR/crl.pem (copy it to the nodes)
  certs show FILE            subject, issuer, serial, addresses and validity of a certificate
`;

function days(p: Parsed, fallback: number): number {
  const text = one(p, "days");
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 36_500) {
    throw new UsageError(`--days "${text}" must be a whole number from 1 to 36500`);
  }
  return n;
}

function dir(p: Parsed): PkiDir {
  const d = one(p, "dir");
  if (!d) throw new UsageError("certs needs --dir DIR (where the CA and certificates live)");
  return new PkiDir(d);
}

const USAGES = {
  both: ["server", "client"],
  server: ["server"],
  client: ["client"],
} as const;

export async function certs(p: Parsed, io: Io): Promise<number> {
  const [, sub, name] = p.words;
  try {
    switch (sub) {
      case "ca": {
        const pki = dir(p);
        const ca = await pki.createCa({
          name: one(p, "ca-name") ?? "hypha CA",
          days: days(p, 3650),
        });
        io.out(
          `CA ${pki.path("ca.crt")} (serial ${ca.serial}, until ${ca.notAfter.toISOString()})`,
        );
        return 0;
      }
      case "issue": {
        if (!name) throw new UsageError("certs issue needs a NAME (the node name)");
        const usage = one(p, "usage") ?? "both";
        if (!(usage in USAGES)) {
          throw new UsageError(`--usage "${usage}" must be both, server or client`);
        }
        const pki = dir(p);
        const cert = await pki.issue({
          name,
          ips: p.values.get("ip") ?? [],
          dns: p.values.get("dns") ?? [],
          usage: USAGES[usage as keyof typeof USAGES],
          days: days(p, 365),
          replace: p.booleans.has("replace"),
          noCommonName: p.booleans.has("no-cn"),
        });
        io.out(
          `${pki.path(`${name}.crt`)} ${pki.path(`${name}.key`)} ` +
            `(serial ${cert.serial}, until ${cert.notAfter.toISOString()})`,
        );
        return 0;
      }
      case "revoke": {
        if (!name) throw new UsageError("certs revoke needs the NAME of an issued certificate");
        const pki = dir(p);
        const serial = await pki.revoke(name);
        io.out(`revoked ${name} (serial ${serial}); copy ${pki.path("crl.pem")} to every node`);
        return 0;
      }
      case "show": {
        if (!name) throw new UsageError("certs show needs a FILE");
        for (const c of parseCertificates(await Deno.readTextFile(name))) {
          io.out(
            [
              `subject  ${c.subject}`,
              `issuer   ${c.issuer}`,
              `serial   ${c.serialNumber.toLowerCase()}`,
              `valid    ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}`,
              ...c.extensions.filter((e) => e.type === "2.5.29.17").map((e) =>
                `names    ${e.toString("text").split("\n").slice(1).join(" ").trim()}`
              ),
            ].join("\n"),
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown certs command "${sub ?? ""}" (ca, issue, revoke, show)`);
    }
  } catch (err) {
    if (err instanceof PkiError) throw new UsageError(err.message);
    throw err;
  }
}

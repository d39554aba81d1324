// core/tls: the cluster's certificates (a CA, node and client certificates, revocation) and
// mutual TLS for listeners that leave the node and for the clients that call them.
export {
  type CertificateOptions,
  type CertifiedKey,
  createAuthority,
  createRevocationList,
  issueCertificate,
  type IssuedCertificate,
} from "./issue.ts";
export { loadTlsMaterial, TlsConfigError, type TlsFiles, type TlsMaterial } from "./material.ts";
export { PkiDir, PkiError } from "./pki_dir.ts";
export { RevocationFile } from "./revocation.ts";
export { mutualTlsClientOptions } from "./client.ts";
export {
  type MutualTlsServer,
  type MutualTlsServerOptions,
  type PeerIdentity,
  serveMutualTls,
} from "./server.ts";

// The client side of mutual TLS for fetch: an HttpClient that trusts only the cluster CA and
// presents this node's certificate.
import type { TlsMaterial } from "./material.ts";

/** Options for Deno.createHttpClient from checked TLS material. */
export function mutualTlsClientOptions(
  tls: Pick<TlsMaterial, "caPem" | "certPem" | "keyPem">,
): Deno.CreateHttpClientOptions & Deno.TlsCertifiedKeyPem {
  return { caCerts: [tls.caPem], cert: tls.certPem, key: tls.keyPem };
}

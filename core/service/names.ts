// Kubernetes name rules for services and slices, as the API server applies them: a Service name
// is a DNS-1035 label (it becomes a DNS name and environment variables), namespaces and port
// names are DNS-1123 labels, slice names DNS subdomains, target port names IANA service names.
export {
  dnsLabelProblem,
  portNameProblem as ianaServiceNameProblem,
  subdomainProblem,
} from "../policy/parse/names.ts";

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** metadata.name of a Service. */
export function serviceNameProblem(name: string): string | undefined {
  if (name.length <= 63 && DNS_1035.test(name)) return undefined;
  return 'must be a DNS-1035 label: at most 63 lower-case letters, digits and "-", starting ' +
    "with a letter and ending with a letter or digit";
}

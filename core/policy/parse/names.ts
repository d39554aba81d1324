// Kubernetes name syntax, checked here so a policy that the API server would reject is rejected
// the same way when it comes from a manifest directory. Each function returns why the text is
// invalid, or undefined. Label syntax is shared with CNI labels (core/identity/label_syntax.ts).

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
import { DNS_SUBDOMAIN } from "../../identity/label_syntax.ts";

export { labelKeyProblem, labelValueProblem } from "../../identity/label_syntax.ts";

/** Object names (metadata.name of policies and CIDR groups). */
export function subdomainProblem(name: string): string | undefined {
  if (name.length <= 253 && DNS_SUBDOMAIN.test(name)) return undefined;
  return 'must be a lower-case DNS subdomain: at most 253 letters, digits, "-" and ".", ' +
    "starting and ending with a letter or digit";
}

/** Namespace names. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length <= 63 && DNS_LABEL.test(name)) return undefined;
  return 'must be a lower-case DNS label: at most 63 letters, digits and "-", starting and ' +
    "ending with a letter or digit";
}

/** A named container port (IANA service name, RFC 6335): `http`, `metrics-2`. */
export function portNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return "must be 1-15 characters";
  if (!/^[a-z0-9-]+$/.test(name)) return 'must contain only lower-case letters, digits and "-"';
  if (!/[a-z]/.test(name)) return "must contain at least one letter";
  if (name.startsWith("-") || name.endsWith("-") || name.includes("--")) {
    return 'must not start or end with "-" or contain "--"';
  }
  return undefined;
}

// Kubernetes name syntax, checked here so a policy that the API server would reject is rejected
// the same way when it comes from a manifest directory. Each function returns why the text is
// invalid, or undefined. (core/cni/labels.ts checks the same label syntax for CNI labels; the
// policy parser keeps its own copy so it does not depend on the CNI plugin.)

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A label (or annotation) key: `[prefix/]name`, prefix a DNS subdomain. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'the prefix before "/" must be a lower-case DNS subdomain of at most 253 characters';
  }
  if (name.length > 63 || !LABEL_NAME.test(name)) {
    return 'the name must be 1-63 letters, digits, "-", "_" or ".", starting and ending ' +
      "with a letter or digit";
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value === "" || (value.length <= 63 && LABEL_NAME.test(value))) return undefined;
  return 'must be empty or 1-63 letters, digits, "-", "_" or ".", starting and ending ' +
    "with a letter or digit";
}

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

// Kubernetes label syntax, shared by everything that takes labels from outside (CNI calls,
// policy manifests) so labels can be matched by policy unchanged. Each function returns why
// the text is invalid, or undefined.

// DNS-1123 subdomain (the optional prefix) and the name part of a qualified name.
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
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

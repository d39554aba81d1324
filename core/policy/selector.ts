// Label selectors over identity labels (see model.ts for the key format).
import type { Requirement, Selector } from "./model.ts";

function holds(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.operator) {
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "In":
      return has && r.values.includes(labels[r.key]!);
    case "NotIn":
      // Kubernetes: NotIn also matches objects without the key
      return !has || !r.values.includes(labels[r.key]!);
  }
}

/** Every requirement holds for `labels`; an empty selector selects everything. */
export function matches(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  return selector.requirements.every((r) => holds(r, labels));
}

/** A selector's text form for traces: `k8s:app=web, k8s:tier in (a,b)`. */
export function describeSelector(selector: Selector): string {
  if (selector.requirements.length === 0) return "(everything)";
  return selector.requirements.map((r) => {
    switch (r.operator) {
      case "Exists":
        return r.key;
      case "DoesNotExist":
        return `!${r.key}`;
      case "In":
        return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values})`;
      case "NotIn":
        return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values})`;
    }
  }).join(", ");
}

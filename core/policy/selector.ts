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

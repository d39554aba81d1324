// Endpoint labels from the network configuration and the pod identity from CNI_ARGS.
// Kubernetes label syntax is enforced so labels can be matched by policy unchanged.
import { invalidField } from "./errors.ts";
import { isRecord, shown } from "./_validate.ts";

export { labelKeyProblem, labelValueProblem } from "../identity/label_syntax.ts";
import { labelKeyProblem, labelValueProblem } from "../identity/label_syntax.ts";

/** A label map ({ "app": "web" }) with every key and value checked; `path` names the field. */
export function checkLabelMap(path: string, v: unknown): Record<string, string> {
  if (!isRecord(v)) throw invalidField(path, `must be an object of string labels, got ${shown(v)}`);
  for (const [key, value] of Object.entries(v)) checkLabel(`${path}.${key}`, key, value);
  return v as Record<string, string>;
}

/**
 * `args.cni.labels`: the CNI "args" convention's list of { key, value } pairs; a plain label map
 * is accepted as well.
 */
export function checkArgsLabels(
  path: string,
  v: unknown,
): Record<string, string> | Array<{ key: string; value: string }> {
  if (!Array.isArray(v)) return checkLabelMap(path, v);
  v.forEach((item, i) => {
    if (!isRecord(item) || typeof item.key !== "string") {
      throw invalidField(
        `${path}[${i}]`,
        `must be { "key": string, "value": string }, got ${shown(item)}`,
      );
    }
    checkLabel(`${path}[${i}]`, item.key, item.value);
  });
  return v as Array<{ key: string; value: string }>;
}

function checkLabel(path: string, key: string, value: unknown): void {
  const keyProblem = labelKeyProblem(key);
  if (keyProblem) throw invalidField(path, `label key ${JSON.stringify(key)}: ${keyProblem}`);
  if (typeof value !== "string") throw invalidField(path, `must be a string, got ${shown(value)}`);
  const valueProblem = labelValueProblem(value);
  if (valueProblem) {
    throw invalidField(path, `label value ${JSON.stringify(value)}: ${valueProblem}`);
  }
}

/** The label sources labelsFor() reads (a validated NetConf has this shape). */
export interface LabelSources {
  labels?: Record<string, string>;
  args?: { cni?: { labels?: Record<string, string> | Array<{ key: string; value: string }> } };
  runtimeConfig?: { labels?: Record<string, string> };
}

export interface PodLabels {
  labels: Record<string, string>;
  /** CNI_ARGS K8S_POD_NAMESPACE, when given and non-empty. */
  namespace?: string;
  /** CNI_ARGS K8S_POD_NAME, when given and non-empty. */
  name?: string;
}

/**
 * The endpoint's labels: `labels` < `args.cni.labels` < `runtimeConfig.labels` (later wins, so
 * what the runtime says about this pod overrides the network's static labels). The pod's
 * namespace and name come back separately, never as labels.
 */
export function labelsFor(conf: LabelSources, args: Record<string, string>): PodLabels {
  const fromArgs = conf.args?.cni?.labels;
  const argLabels = Array.isArray(fromArgs)
    ? Object.fromEntries(fromArgs.map((l) => [l.key, l.value]))
    : fromArgs;
  const out: PodLabels = {
    labels: { ...conf.labels, ...argLabels, ...conf.runtimeConfig?.labels },
  };
  if (args.K8S_POD_NAMESPACE) out.namespace = args.K8S_POD_NAMESPACE;
  if (args.K8S_POD_NAME) out.name = args.K8S_POD_NAME;
  return out;
}

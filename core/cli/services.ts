// `hypha service list|get` and `hypha bpf lb list`: the load balancer's view of services (the
// lb plugin's API under /v1/plugins/lb), as tables or JSON.
import { type ApiClient, ApiClientError } from "../api/client.ts";
import { renderTable } from "./table.ts";

interface BackendView {
  address: string;
  id: number | null;
  state: string;
  local: boolean;
  node?: string;
  pod?: string;
}

interface FrontendView {
  frontend: string;
  id: number | null;
  kind: string;
  port: string;
  external: boolean;
  socket: boolean;
  trafficPolicy: string;
  algorithm: string;
  affinity?: { clientIP: { timeoutSeconds: number } };
  sourceRanges?: string[];
  onEmpty: string | null;
  backends: BackendView[];
}

interface ServiceView {
  service: string;
  type: string;
  frontends: FrontendView[];
}

interface Problem {
  object: string;
  path: string;
  message: string;
}

interface Rejected {
  kind: string;
  namespace: string;
  name: string;
  source: string;
  issues: Array<{ path: string; message: string }>;
}

/** Calls the lb plugin's API; a 404 of the plugin route says how to switch it on. */
async function lb<T>(client: ApiClient, path: string): Promise<T> {
  try {
    return await client.json<T>("GET", `/v1/plugins/lb${path}`);
  } catch (err) {
    if (err instanceof ApiClientError && err.status === 404 && /plugin "lb"/.test(err.message)) {
      throw new Error("the lb plugin is not running on this node (hypha plugins enable lb)");
    }
    throw err;
  }
}

const active = (f: FrontendView) => f.backends.filter((b) => b.state.startsWith("active")).length;

function flags(f: FrontendView): string {
  return [
    f.socket ? "socket" : "",
    f.external ? "external" : "",
    f.trafficPolicy === "Local" ? "local" : "",
    f.affinity ? `affinity ${f.affinity.clientIP.timeoutSeconds}s` : "",
    f.sourceRanges ? `ranges ${f.sourceRanges.join(",")}` : "",
  ].filter(Boolean).join(" ");
}

function problemLines(problems: Problem[], rejected: Rejected[]): string[] {
  return [
    ...rejected.flatMap((r) =>
      r.issues.map((i) =>
        `rejected ${r.kind} ${r.namespace}/${r.name} (${r.source}): ${i.path}: ${i.message}`
      )
    ),
    ...problems.map((p) => `${p.object}: ${p.path}: ${p.message}`),
  ];
}

export async function serviceList(
  client: ApiClient,
): Promise<{ json: unknown; text: () => string }> {
  const r = await lb<{ services: ServiceView[]; problems: Problem[]; rejected: Rejected[] }>(
    client,
    "/services",
  );
  return {
    json: r,
    text: () => {
      const rows = r.services.flatMap((s) =>
        s.frontends.length
          ? s.frontends.map((f, i) => [
            i === 0 ? s.service : "",
            i === 0 ? s.type : "",
            f.frontend,
            f.kind,
            `${active(f)}/${f.backends.length}`,
            f.algorithm,
            flags(f),
          ])
          : [[s.service, s.type, "(none)", "", "", "", ""]]
      );
      const lines = [
        renderTable(
          ["SERVICE", "TYPE", "FRONTEND", "KIND", "BACKENDS", "ALGORITHM", "FLAGS"],
          rows,
        ),
        `${r.services.length} services`,
        ...problemLines(r.problems, r.rejected),
      ];
      return lines.join("\n");
    },
  };
}

export async function serviceGet(
  client: ApiClient,
  key: string,
): Promise<{ json: unknown; text: () => string }> {
  const [namespace, name] = key.includes("/") ? key.split("/", 2) : ["default", key];
  const r = await lb<ServiceView & { problems?: Problem[]; rejected?: Rejected[] }>(
    client,
    `/services/${encodeURIComponent(namespace!)}/${encodeURIComponent(name!)}`,
  );
  return {
    json: r,
    text: () => {
      if (r.rejected) return problemLines([], r.rejected).join("\n");
      const lines = [`Service:   ${r.service} (${r.type})`];
      for (const f of r.frontends) {
        lines.push(
          "",
          `Frontend:  ${f.frontend} ${f.kind}${f.port ? ` port ${f.port}` : ""} id ${f.id ?? "-"}`,
          `           ${f.algorithm}; traffic policy ${f.trafficPolicy}; ${flags(f)}` +
            (f.onEmpty ? `; no backend: ${f.onEmpty}` : ""),
          renderTable(
            ["  BACKEND", "ID", "STATE", "NODE", "POD"],
            f.backends.map((b) => [
              `  ${b.address}`,
              b.id ?? "-",
              b.state,
              `${b.node ?? ""}${b.local ? " (local)" : ""}`,
              b.pod ?? "",
            ]),
          ),
        );
      }
      lines.push(...problemLines(r.problems ?? [], []));
      return lines.join("\n");
    },
  };
}

export async function lbMaps(
  client: ApiClient,
  limit: string,
): Promise<{ json: unknown; text: () => string }> {
  const r = await lb<{
    config: Record<string, number> | null;
    frontends: Array<
      { frontend: string; id: number; count: number; flags: string[]; affinityTimeout: number }
    >;
    slots: Array<{ frontend: number; slot: number; backend: number }>;
    backends: Array<{ id: number; address: string; proto: number; flags: string[] }>;
    maglev: Array<{ frontend: number; mapId: number }>;
    conntrack: number;
    reverse: number;
    affinity: number;
  }>(client, `/maps?limit=${encodeURIComponent(limit)}`);
  return {
    json: r,
    text: () => {
      const slots = new Map<number, number[]>();
      for (const s of r.slots) slots.set(s.frontend, [...(slots.get(s.frontend) ?? []), s.backend]);
      const maglev = new Map(r.maglev.map((m) => [m.frontend, m.mapId]));
      return [
        `Config:    ${JSON.stringify(r.config)}`,
        "",
        renderTable(
          [
            "FRONTEND (hypha_lb_frontends)",
            "ID",
            "COUNT",
            "FLAGS",
            "SLOTS -> BACKEND IDS",
            "MAGLEV",
          ],
          r.frontends.map((f) => [
            f.frontend,
            f.id,
            f.count,
            f.flags.join(",") + (f.affinityTimeout ? ` (${f.affinityTimeout}s)` : ""),
            (slots.get(f.id) ?? []).join(" "),
            maglev.has(f.id) ? `map ${maglev.get(f.id)}` : "",
          ]),
        ),
        "",
        renderTable(
          ["BACKEND (hypha_lb_backends)", "ID", "PROTO", "FLAGS"],
          r.backends.map((b) => [b.address, b.id, b.proto, b.flags.join(",")]),
        ),
        "",
        `Per-flow state: ${r.conntrack} conntrack, ${r.reverse} reverse, ${r.affinity} affinity entries`,
      ].join("\n");
    },
  };
}

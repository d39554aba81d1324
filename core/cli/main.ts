// The `hypha` command line: runs the agent, or talks to a running one over its API.
import { join } from "node:path";
import { ApiClient, type Target } from "../api/client.ts";
import type {
  ConfigRow,
  CounterRow,
  DatapathStatus,
  EndpointRow,
  MapRow,
  NetworkView,
  NodeRow,
  NodeStatus,
  RejectedRecordRow,
} from "../api/backend.ts";
import type { KernelFeatures } from "../bpf/probe.ts";
import { ConfigError, describeConfig } from "../config/mod.ts";
import { cleanupNode, derivePaths, loadAgentConfig, runAgent } from "../agent/mod.ts";
import type { PluginStatus } from "../plugin/host.ts";
import { VERSION } from "../version.ts";
import { one, parseArgs, type Parsed, UsageError } from "./args.ts";
import { renderTable } from "./table.ts";
import { rejectedSection } from "./rejected.ts";
import { lbMaps, serviceGet, serviceList } from "./services.ts";
import { validatePolicyText } from "../agent/policy_api.ts";
import { type AppliedService, validateServiceText } from "../agent/service_api.ts";
import { serviceOptions } from "../service/options.ts";
import {
  observe,
  OBSERVE_BOOLEANS,
  OBSERVE_FLAGS,
  OBSERVE_HELP,
  rewriteObserveArgs,
} from "./observe.ts";
import { ui, UI_HELP } from "./ui.ts";
import { certs, CERTS_BOOLEANS, CERTS_FLAGS, CERTS_HELP } from "./certs.ts";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

const consoleIo: Io = { out: (t) => console.log(t), err: (t) => console.error(t) };

const SPEC = {
  values: {
    node: {},
    config: {},
    set: { repeat: true },
    socket: {},
    server: {},
    "token-file": {},
    output: { short: "o" },
    limit: {},
    "deno-json": {},
    from: {},
    to: {},
    listen: {},
    ...OBSERVE_FLAGS, // includes a repeatable --port (policy trace takes the first)
    ...CERTS_FLAGS,
  },
  booleans: ["offline", "help", ...OBSERVE_BOOLEANS, ...CERTS_BOOLEANS],
};

export const HELP = `hypha ${VERSION} — eBPF networking, security and observability agent

Usage: hypha <command> [flags]

Commands:
  agent                      run the node agent (until SIGINT/SIGTERM)
  status                     node, kernel features, datapath and plugins
  config [--offline]         effective config and where each value came from
  plugins [list]             plugins with state and health
  plugins enable|disable ID  switch a plugin on or off at runtime
  bpf map list               BPF maps with entries and fill ratio
  bpf map dump NAME          entries of a BPF map (--limit N, default 100)
  bpf lb list                the load balancer's maps: frontends, slots, backends (lb plugin)
  counters                   per-interface packets, bytes and drops
  network                    routing mode, pod CIDRs, IPAM use and the cluster store
  node list                  nodes of the cluster as this node knows them
  endpoint list              endpoints (pods): this node's and, with etcd, every node's
  endpoint get ID            one local endpoint in detail, with its computed policy
  policy apply FILE          apply policy manifests (NetworkPolicy, CiliumNetworkPolicy, ...)
  policy delete FILE         delete the policies FILE names
  policy get                 policies in force, and their problems
  policy validate FILE       check manifests offline; every problem with its field path
  policy trace --from NS/POD --to NS/POD|IP --port N/PROTO
                             explain the verdict for a connection and the rule that made it
  service list               services with their frontends, backends, algorithm and affinity
  service get NS/NAME        one service: every frontend and its backends with their state
  service apply FILE         apply Service and EndpointSlice manifests; shows allocated IPs/ports
  service delete FILE        delete the services and endpoint slices FILE names
  service validate FILE      check Service/EndpointSlice manifests offline (against the config's
                             service ranges); every problem with its field path
${OBSERVE_HELP}${UI_HELP}${CERTS_HELP}  cleanup                    remove everything hypha put into the kernel for the node
  version                    print the version

Flags:
  --node NAME                the node (derives the API socket and config)
  --config FILE              the node's YAML config file
  --set path=value           override a config field (repeatable)
  --socket PATH              the agent's API socket (default /run/hypha/<node>/api.sock)
  --server URL --token-file F  reach the agent's TCP listener instead
  -o, --output table|json    output format (default table)
`;

export async function main(args: string[], io: Io = consoleIo): Promise<number> {
  try {
    const p = parseArgs(rewriteObserveArgs(args), SPEC);
    if (p.booleans.has("help") || p.words[0] === "help" || p.words.length === 0) {
      io.out(HELP);
      return p.words.length === 0 && !p.booleans.has("help") ? 2 : 0;
    }
    if (p.words[0] === "observe") return await dispatch(p, "table", io); // its own -o formats
    const output = one(p, "output") ?? "table";
    if (output !== "table" && output !== "json") {
      throw new UsageError(`output "${output}" must be table or json`);
    }
    return await dispatch(p, output, io);
  } catch (err) {
    io.err(`hypha: ${oneLine(err)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

function oneLine(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof Error) return err.message.split("\n")[0]!;
  return String(err);
}

function agentOptions(p: Parsed) {
  const node = one(p, "node");
  const configFile = one(p, "config");
  const denoJson = one(p, "deno-json");
  return {
    ...(node ? { node } : {}),
    ...(configFile ? { configFile } : {}),
    ...(denoJson ? { denoJson } : {}),
    sets: p.values.get("set") ?? [],
  };
}

async function target(p: Parsed): Promise<Target> {
  const server = one(p, "server");
  if (server) {
    const tokenFile = one(p, "token-file");
    if (!tokenFile) throw new UsageError("--server needs --token-file");
    return { url: server, token: (await Deno.readTextFile(tokenFile)).trim() };
  }
  const socket = one(p, "socket");
  if (socket) return { socket };
  const opts = agentOptions(p);
  if (opts.node || opts.configFile) {
    const { config } = await loadAgentConfig(opts);
    return { socket: derivePaths(config.node.name, config.paths, config.api.socket).apiSocket };
  }
  // No node named: the one agent on this machine, if there is exactly one.
  const found: string[] = [];
  try {
    for (const e of Deno.readDirSync("/run/hypha")) {
      const sock = join("/run/hypha", e.name, "api.sock");
      try {
        if (Deno.statSync(sock).isSocket) found.push(sock);
      } catch {
        // no socket for this node
      }
    }
  } catch {
    // no /run/hypha
  }
  if (found.length === 1) return { socket: found[0]! };
  throw new UsageError(
    found.length
      ? `several agents run here (${found.join(", ")}): pick one with --node or --socket`
      : "no agent found: pass --node NAME or --socket PATH",
  );
}

async function dispatch(p: Parsed, output: "table" | "json", io: Io): Promise<number> {
  const [cmd, sub, arg] = p.words;
  const show = (json: unknown, table: () => string) =>
    io.out(output === "json" ? JSON.stringify(json, null, 2) : table());
  switch (cmd) {
    case "version":
      io.out(VERSION);
      return 0;
    case "certs":
      return await certs(p, io);
    case "agent":
      return await runAgent(agentOptions(p));
    case "cleanup": {
      const { removed } = await cleanupNode(agentOptions(p));
      show(
        { removed },
        () => (removed.length
          ? removed.map((r) => `removed ${r}`).join("\n")
          : "nothing to remove"),
      );
      return 0;
    }
    case "policy":
      if (sub === "validate") {
        // Offline: no agent needed, the same parser the agent uses.
        if (!arg) throw new UsageError("policy validate needs a FILE");
        const issues = validatePolicyText(await readFile(arg), arg);
        show(
          { valid: issues.length === 0, issues },
          () =>
            issues.length
              ? issues.map((i) => `${i.path}: ${i.message}`).join("\n")
              : `${arg}: valid`,
        );
        return issues.length ? 1 : 0;
      }
      break;
    case "service":
    case "services":
      if (sub === "validate") {
        // Offline: the ranges come from the config this node would run with (or the defaults).
        if (!arg) throw new UsageError("service validate needs a FILE");
        const { config } = await loadAgentConfig(agentOptions(p), { requireNode: false });
        const issues = validateServiceText(await readFile(arg), serviceOptions(config.services));
        const where = (path: string) =>
          path.startsWith("[") ? `${arg}${path}` : path ? `${arg}: ${path}` : arg;
        show(
          { valid: issues.length === 0, issues },
          () =>
            issues.length
              ? issues.map((i) => `${where(i.path)}: ${i.message}`).join("\n")
              : `${arg}: valid`,
        );
        return issues.length ? 1 : 0;
      }
      break;
    case "config":
      if (p.booleans.has("offline")) {
        // Works without an agent and without a node name: what the agent would run with.
        const rows = describeConfig(await loadAgentConfig(agentOptions(p), { requireNode: false }));
        show({ config: rows }, () => configTable(rows));
        return 0;
      }
  }
  if (cmd === "ui") return await ui(await target(p), one(p, "listen"), io);
  using client = new ApiClient(await target(p));
  switch (cmd) {
    case "observe":
      return await observe(p, client, io);
    case "status": {
      const s = await client.json<
        {
          node: NodeStatus;
          kernel: KernelFeatures;
          datapath: DatapathStatus;
          plugins: PluginStatus[];
          rejected?: RejectedRecordRow[];
        }
      >("GET", "/v1/status");
      show(s, () => statusText(s));
      return 0;
    }
    case "config": {
      const { config } = await client.json<{ config: ConfigRow[] }>("GET", "/v1/config");
      show({ config }, () => configTable(config));
      return 0;
    }
    case "plugins": {
      if (sub === "enable" || sub === "disable") {
        if (!arg) throw new UsageError(`plugins ${sub} needs a plugin id`);
        const r = await client.json<{ plugin: PluginStatus }>(
          "POST",
          `/v1/plugins/${encodeURIComponent(arg)}/${sub}`,
        );
        show(r, () => `plugin ${arg}: ${r.plugin.state}`);
        return 0;
      }
      if (sub !== undefined && sub !== "list") {
        throw new UsageError(`unknown plugins command "${sub}" (list, enable ID, disable ID)`);
      }
      const { plugins } = await client.json<{ plugins: PluginStatus[] }>("GET", "/v1/plugins");
      show(
        { plugins },
        () => (plugins.length ? pluginsTable(plugins) : "no plugins are built into this agent yet"),
      );
      return 0;
    }
    case "network": {
      const { network } = await client.json<{ network: NetworkView }>("GET", "/v1/network");
      show({ network }, () => networkText(network));
      return 0;
    }
    case "node":
    case "nodes": {
      if (sub !== undefined && sub !== "list") {
        throw new UsageError(`unknown node command "${sub}" (node list)`);
      }
      const r = await client.json<{ nodes: NodeRow[]; rejected?: RejectedRecordRow[] }>(
        "GET",
        "/v1/nodes",
      );
      show(r, () =>
        renderTable(
          ["NODE", "ADDRESSES", "POD CIDRS", "SOURCE", ""],
          r.nodes.map((n) => [
            n.name,
            n.addresses.join(","),
            n.podCIDRs.join(","),
            n.source,
            n.self ? "(this node)" : "",
          ]),
        ) + rejectedSection(r.rejected ?? []));
      return 0;
    }
    case "endpoint":
    case "endpoints": {
      if (sub === "get") {
        if (!arg) {
          throw new UsageError("endpoint get needs an endpoint id (see hypha endpoint list)");
        }
        const r = await client.json<{ endpoint: Record<string, unknown> }>(
          "GET",
          `/v1/endpoints/${encodeURIComponent(arg)}`,
        );
        show(
          r,
          () =>
            Object.entries(r.endpoint).map(([k, v]) =>
              `${k.padEnd(12)} ${typeof v === "string" ? v : JSON.stringify(v)}`
            ).join("\n"),
        );
        return 0;
      }
      if (sub !== undefined && sub !== "list") {
        throw new UsageError(`unknown endpoint command "${sub}" (endpoint list, endpoint get ID)`);
      }
      const { endpoints } = await client.json<{ endpoints: EndpointRow[] }>(
        "GET",
        "/v1/endpoints",
      );
      show({ endpoints }, () =>
        renderTable(
          ["NODE", "ID", "POD", "IDENTITY", "IPS", "INTERFACE"],
          endpoints.map((e) => [
            e.node,
            e.id,
            e.pod ? `${e.namespace}/${e.pod}` : e.containerId.slice(0, 12),
            e.identity,
            e.ips.join(","),
            e.hostIfname ?? "",
          ]),
        ) + `\n${endpoints.length} endpoints`);
      return 0;
    }
    case "policy": {
      if (sub === "apply" || sub === "delete") {
        if (!arg) throw new UsageError(`policy ${sub} needs a FILE`);
        const path = sub === "apply" ? "/v1/policies" : "/v1/policies/delete";
        const r = await client.json<{ applied?: string[]; deleted?: string[]; missing?: string[] }>(
          "POST",
          path,
          await readFile(arg),
        );
        show(r, () =>
          [
            ...(r.applied ?? []).map((k) => `applied ${k}`),
            ...(r.deleted ?? []).map((k) => `deleted ${k}`),
            ...(r.missing ?? []).map((k) => `not found: ${k}`),
          ].join("\n"));
        return 0;
      }
      if (sub === "get" || sub === undefined || sub === "list") {
        const r = await client.json<
          {
            enforcement: string;
            revision: number;
            policies: Array<
              { key: string; rules: number; issues: Array<{ path: string; message: string }> }
            >;
          }
        >("GET", "/v1/policies");
        show(r, () =>
          `Enforcement: ${r.enforcement}; policy revision ${r.revision}\n` +
          renderTable(
            ["POLICY", "RULES", "PROBLEMS"],
            r.policies.map((x) => [
              x.key,
              x.rules,
              x.issues.map((i) => `${i.path}: ${i.message}`).join("; "),
            ]),
          ));
        return 0;
      }
      if (sub === "trace") {
        const q = { from: one(p, "from"), to: one(p, "to"), port: one(p, "port") };
        for (const [k, v] of Object.entries(q)) {
          if (!v) throw new UsageError(`policy trace needs --${k}`);
        }
        const qs = new URLSearchParams(q as Record<string, string>).toString();
        const r = await client.json<{
          verdict: string;
          egress: { verdict: string; decidedBy: string };
          ingress: { verdict: string; decidedBy: string } | null;
        }>("GET", `/v1/policy/trace?${qs}`);
        show(r, () =>
          [
            `${q.from} -> ${q.to} ${q.port}: ${r.verdict.toUpperCase()}`,
            `  egress of ${q.from}: ${r.egress.verdict} (${r.egress.decidedBy})`,
            ...(r.ingress
              ? [`  ingress of ${q.to}: ${r.ingress.verdict} (${r.ingress.decidedBy})`]
              : []),
          ].join("\n"));
        return 0;
      }
      throw new UsageError(`unknown policy command "${sub}" (apply, delete, get, validate, trace)`);
    }
    case "service":
    case "services": {
      if (sub === "list" || sub === undefined || sub === "get") {
        if (sub === "get" && !arg) throw new UsageError("service get needs NAMESPACE/NAME");
        const v = sub === "get" ? await serviceGet(client, arg!) : await serviceList(client);
        show(v.json, v.text);
        return 0;
      }
      if (sub !== "apply" && sub !== "delete") {
        throw new UsageError(
          `unknown service command "${sub}" (list, get NS/NAME, apply FILE, delete FILE, ` +
            "validate FILE)",
        );
      }
      if (!arg) throw new UsageError(`service ${sub} needs a FILE`);
      const r = await client.json<
        { applied?: string[]; services?: AppliedService[]; deleted?: string[]; missing?: string[] }
      >("POST", sub === "apply" ? "/v1/services" : "/v1/services/delete", await readFile(arg));
      show(r, () =>
        [
          ...(r.applied ?? []).map((k) => {
            const s = r.services?.find((x) => `Service/${x.key}` === k);
            return `applied ${k}${s ? `: ${allocationText(s)}` : ""}`;
          }),
          ...(r.deleted ?? []).map((k) => `deleted ${k}`),
          ...(r.missing ?? []).map((k) => `not found: ${k}`),
        ].join("\n"));
      return 0;
    }
    case "counters": {
      const { counters } = await client.json<{ counters: CounterRow[] }>("GET", "/v1/counters");
      show({ counters }, () => countersTable(counters));
      return 0;
    }
    case "bpf": {
      if (sub === "lb") {
        if (arg !== undefined && arg !== "list") {
          throw new UsageError(`unknown bpf lb command "${arg}" (bpf lb list)`);
        }
        const v = await lbMaps(client, one(p, "limit") ?? "1000");
        show(v.json, v.text);
        return 0;
      }
      if (sub !== "map") {
        throw new UsageError(
          `unknown bpf command "${sub ?? ""}" (bpf map list, bpf map dump NAME, bpf lb list)`,
        );
      }
      const action = arg;
      if (action === "list") {
        const { maps } = await client.json<{ maps: MapRow[] }>("GET", "/v1/bpf/maps");
        show({ maps }, () => mapsTable(maps));
        return 0;
      }
      if (action === "dump") {
        const name = p.words[3];
        if (!name) throw new UsageError("bpf map dump needs a map name (see hypha bpf map list)");
        const limit = one(p, "limit") ?? "100";
        const r = await client.json<{ entries: Array<{ key: unknown; value: unknown }> }>(
          "GET",
          `/v1/bpf/maps/${encodeURIComponent(name)}?limit=${encodeURIComponent(limit)}`,
        );
        show(
          r,
          () =>
            renderTable(
              ["KEY", "VALUE"],
              r.entries.map((e) => [JSON.stringify(e.key), JSON.stringify(e.value)]),
            ) + `\n${r.entries.length} entries`,
        );
        return 0;
      }
      throw new UsageError(`unknown bpf map command "${action ?? ""}" (list, dump NAME)`);
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see hypha help)`);
  }
}

function statusText(
  s: {
    node: NodeStatus;
    kernel: KernelFeatures;
    datapath: DatapathStatus;
    plugins: PluginStatus[];
    rejected?: RejectedRecordRow[];
  },
): string {
  const lines = [
    `Node:       ${s.node.name} (cluster ${s.node.cluster})`,
    `Agent:      hypha ${s.node.version}, pid ${s.node.pid}, started ${s.node.startedAt}, ${
      s.node.ready ? "ready" : "NOT READY"
    }`,
    `Kernel:     ${s.kernel.kernel}`,
    `Features:   ${s.kernel.features.map((f) => `${f.available ? "+" : "-"}${f.name}`).join(", ")}`,
    `Datapath:   devices ${
      s.datapath.devices.join(", ") || "none"
    }; attach mode ${s.datapath.attachMode}; ` +
    `writes since start: ${s.datapath.mapWrites} map, ${s.datapath.linkWrites} link`,
  ];
  if (s.datapath.lastReconcile) {
    const r = s.datapath.lastReconcile;
    lines.push(`Reconcile:  ${r.ok ? "ok" : `FAILED: ${r.errors.join("; ")}`} at ${r.at}`);
  }
  for (const d of s.node.damagedStateFiles ?? []) {
    lines.push(`State file: DAMAGED ${d.path}: ${d.problem}; ${d.recovery}`);
  }
  lines.push(
    "",
    renderTable(
      ["INTERFACE", "DIRECTION", "KIND", "PROGRAM", "PROG ID"],
      s.datapath.attachments.map((a) => [a.ifname, a.direction, a.kind, a.program, a.programId]),
    ),
  );
  lines.push(
    "",
    s.plugins.length ? pluginsTable(s.plugins) : "Plugins:    none built into this agent yet",
  );
  return lines.join("\n") + rejectedSection(s.rejected ?? []);
}

/** `cluster IP 10.96.0.10, node ports 80/TCP:30080, health check node port 31000`. */
function allocationText(s: AppliedService): string {
  const parts = [s.clusterIPs.length ? `cluster IP ${s.clusterIPs.join(", ")}` : "no cluster IP"];
  const nodePorts = s.ports.filter((p) => p.nodePort !== undefined);
  if (nodePorts.length) {
    parts.push(
      `node ports ${nodePorts.map((p) => `${p.port}/${p.protocol}:${p.nodePort}`).join(", ")}`,
    );
  }
  if (s.healthCheckNodePort) parts.push(`health check node port ${s.healthCheckNodePort}`);
  return parts.join("; ");
}

async function readFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new UsageError(`cannot read "${path}": ${(err as Error).message}`);
  }
}

function networkText(n: NetworkView): string {
  return [
    `Routing:    ${n.routing}${n.tunnelDevice ? ` (device ${n.tunnelDevice})` : ""}; masquerade ${
      n.masquerade ? "on" : "off"
    }; pod MTU ${n.mtu}`,
    `Addresses:  ${n.addresses.join(", ")}`,
    `Pod CIDRs:  ${n.podCIDRs.join(", ") || "none yet"}`,
    ...n.ipam.map((i) => `IPAM:       ${i.cidr}: ${i.used} used, ${i.available} free`),
    `Store:      ${n.store.kind}, ${n.store.connected ? "connected" : "NOT CONNECTED"}, ${
      n.store.synced ? "synced" : "not synced"
    }${n.store.lastError ? ` (${n.store.lastError})` : ""}`,
  ].join("\n");
}

function pluginsTable(plugins: PluginStatus[]): string {
  return renderTable(
    ["PLUGIN", "ENABLED", "STATE", "HEALTH", "MESSAGE"],
    plugins.map((p) => [p.id, p.enabled, p.state, p.health, p.message ?? ""]),
  );
}

function configTable(rows: ConfigRow[]): string {
  return renderTable(
    ["FIELD", "VALUE", "SOURCE"],
    rows.map((r) => [r.path, JSON.stringify(r.value), r.source]),
  );
}

function countersTable(rows: CounterRow[]): string {
  return renderTable(
    ["INTERFACE", "DIRECTION", "PACKETS", "BYTES", "DROPS", "DROP REASONS"],
    rows.map((
      c,
    ) => [
      c.ifname,
      c.direction,
      c.packets,
      c.bytes,
      c.drops,
      Object.entries(c.dropsByReason).map(([k, v]) => `${k}=${v}`).join(" "),
    ]),
  );
}

function mapsTable(rows: MapRow[]): string {
  return renderTable(
    ["MAP", "OWNER", "TYPE", "KEY", "VALUE", "ENTRIES", "MAX", "FILL", "PINNED"],
    rows.map((
      m,
    ) => [
      m.name,
      m.owner,
      m.type,
      m.keySize,
      m.valueSize,
      m.entries,
      m.maxEntries,
      `${(m.fillRatio * 100).toFixed(1)}%`,
      m.pinned ?? "-",
    ]),
  );
}

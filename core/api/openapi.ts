// The OpenAPI 3.1 document of the admin API (served at /openapi.json). A test checks that it
// lists exactly the routes the app serves.
import { FILTER_FLAGS } from "../flows/filter.ts";

const json = (schema: Record<string, unknown>, description = "OK") => ({
  description,
  content: { "application/json": { schema } },
});
const error = { $ref: "#/components/responses/Error" };
const obj = (properties: Record<string, unknown>) => ({ type: "object", properties });
/** Records a source rejected (cluster store or manifest directory), with their problems. */
const rejectedRecords = {
  type: "array",
  items: obj({
    kind: { type: "string" },
    namespace: { type: "string" },
    name: { type: "string" },
    source: { type: "string" },
    issues: {
      type: "array",
      items: obj({ path: { type: "string" }, message: { type: "string" } }),
    },
    keeping: { type: "boolean" },
  }),
};

const FLOW_FILTER_PARAMS = Object.values(FILTER_FLAGS);

function pluginToggle(summary: string, extra: Record<number, unknown> = {}) {
  return {
    post: {
      summary,
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
      responses: {
        200: json(obj({ plugin: { type: "object" } })),
        400: error,
        404: error,
        409: error,
        ...extra,
      },
    },
  };
}

export const openapi = {
  openapi: "3.1.0",
  info: {
    title: "hypha admin API",
    version: "1",
    description:
      "Node agent administration. Served on a unix socket (mode 0600); the optional TCP " +
      "listener requires `Authorization: Bearer <token>` on every route except /healthz. " +
      "Request bodies are capped at 4 MiB (1 MiB on /v1/cni); a larger one is refused with " +
      '413 and the error code "too_large".',
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    responses: {
      Error: json(
        obj({
          error: obj({
            code: { type: "string" },
            message: { type: "string" },
            field: { type: "string" },
          }),
        }),
        "Error",
      ),
    },
  },
  security: [{}, { bearer: [] }],
  paths: {
    "/healthz": {
      get: {
        summary: "Liveness",
        security: [],
        responses: { 200: json(obj({ status: { type: "string" } })) },
      },
    },
    "/readyz": {
      get: {
        summary: "Readiness: 200 once the node finished starting, 503 before",
        responses: {
          200: json(obj({ ready: { type: "boolean" } })),
          503: json(obj({ ready: { type: "boolean" } }), "Not ready"),
        },
      },
    },
    "/v1/status": {
      get: {
        summary: "Node, kernel features, datapath attachments and plugins",
        responses: {
          200: json(
            obj({
              node: { type: "object" },
              kernel: { type: "object" },
              datapath: { type: "object" },
              plugins: { type: "array" },
              rejected: rejectedRecords,
            }),
          ),
        },
      },
    },
    "/v1/config": {
      get: {
        summary: "Effective configuration, each field with the layer it came from",
        responses: {
          200: json(
            obj({
              config: {
                type: "array",
                items: obj({ path: { type: "string" }, value: {}, source: { type: "string" } }),
              },
            }),
          ),
        },
      },
    },
    "/v1/counters": {
      get: {
        summary: "Per-interface packets, bytes and drops (by reason)",
        responses: { 200: json(obj({ counters: { type: "array" } })) },
      },
    },
    "/v1/bpf/maps": {
      get: {
        summary: "BPF maps with entries and fill ratio",
        responses: { 200: json(obj({ maps: { type: "array" } })) },
      },
    },
    "/v1/bpf/maps/{name}": {
      get: {
        summary: "Dump a BPF map",
        parameters: [
          { name: "name", in: "path", required: true, schema: { type: "string" } },
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 1000000, default: 1000 },
          },
        ],
        responses: {
          200: json(obj({ map: { type: "string" }, entries: { type: "array" } })),
          400: error,
          404: error,
        },
      },
    },
    "/v1/plugins": {
      get: {
        summary: "Plugins with state and health",
        responses: { 200: json(obj({ plugins: { type: "array" } })) },
      },
    },
    "/v1/plugins/{id}/enable": pluginToggle("Start a plugin at runtime", { 500: error }),
    "/v1/plugins/{id}/disable": pluginToggle("Stop a plugin at runtime"),
    "/v1/plugins/{id}/{path}": {
      description: "Routes a running plugin mounts (see each plugin's documentation).",
      get: {
        summary: "A plugin's own routes",
        parameters: [
          { name: "id", in: "path", required: true, schema: { type: "string" } },
          { name: "path", in: "path", required: true, schema: { type: "string" } },
        ],
        responses: { 200: { description: "Plugin-defined" }, 404: error },
      },
    },
    "/v1/network": {
      get: {
        summary: "The node's pod network: routing mode, pod CIDRs, IPAM use, cluster store",
        responses: { 200: json(obj({ network: { type: "object" } })), 404: error },
      },
    },
    "/v1/nodes": {
      get: {
        summary: "Nodes of the cluster as this node knows them, and rejected node records",
        responses: { 200: json(obj({ nodes: { type: "array" }, rejected: rejectedRecords })) },
      },
    },
    "/v1/endpoints": {
      get: {
        summary: "Endpoints (pods): this node's and, with a cluster store, every node's",
        responses: { 200: json(obj({ endpoints: { type: "array" } })) },
      },
    },
    "/v1/endpoints/{id}": {
      get: {
        summary: "A local endpoint in detail: addresses, identity, interfaces, map entries",
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" } }],
        responses: { 200: json(obj({ endpoint: { type: "object" } })), 400: error, 404: error },
      },
    },
    "/v1/cni": {
      post: {
        summary: "One CNI request from the hypha CNI plugin (ADD, DEL, CHECK, GC, STATUS)",
        requestBody: { content: { "application/json": { schema: { type: "object" } } } },
        responses: {
          200: json(obj({ result: {} })),
          400: json(obj({ error: { type: "object" }, cni: { type: "object" } }), "CNI error"),
          404: json(obj({ error: { type: "object" }, cni: { type: "object" } }), "CNI error"),
          409: json(obj({ error: { type: "object" }, cni: { type: "object" } }), "CNI error"),
          500: json(obj({ error: { type: "object" }, cni: { type: "object" } }), "CNI error"),
          413: json(obj({ error: { type: "object" }, cni: { type: "object" } }), "CNI error"),
          503: json(obj({ error: { type: "object" }, cni: { type: "object" } }), "CNI error"),
        },
      },
    },
    "/v1/policies": {
      get: {
        summary: "Policies in force with their problems, and the node's policy computation state",
        responses: { 200: json({ type: "object" }) },
      },
      post: {
        summary: "Apply the manifests of a YAML/JSON body, all or none",
        requestBody: { content: { "application/yaml": { schema: { type: "string" } } } },
        responses: { 200: json({ type: "object" }), 400: error },
      },
    },
    "/v1/policies/delete": {
      post: {
        summary: "Delete the policies the manifests of a YAML/JSON body name",
        requestBody: { content: { "application/yaml": { schema: { type: "string" } } } },
        responses: { 200: json({ type: "object" }), 400: error },
      },
    },
    "/v1/policies/validate": {
      post: {
        summary: "Validate manifests without applying them; every issue with its field path",
        requestBody: { content: { "application/yaml": { schema: { type: "string" } } } },
        responses: { 200: json(obj({ valid: { type: "boolean" }, issues: { type: "array" } })) },
      },
    },
    "/v1/policy/trace": {
      get: {
        summary: "Explain the verdict for a connection and the rule that made it",
        parameters: ["from", "to", "port"].map((name) => ({
          name,
          in: "query",
          required: true,
          schema: { type: "string" },
        })),
        responses: { 200: json({ type: "object" }), 400: error, 404: error },
      },
    },
    "/v1/services": {
      post: {
        summary:
          "Apply the Service and EndpointSlice manifests of a YAML/JSON body, all or none; " +
          "cluster IPs and node ports are allocated and returned",
        requestBody: { content: { "application/yaml": { schema: { type: "string" } } } },
        responses: {
          200: json(
            obj({
              applied: { type: "array", items: { type: "string" } },
              services: { type: "array" },
              revision: { type: "integer" },
            }),
          ),
          400: error,
          409: error,
        },
      },
    },
    "/v1/services/delete": {
      post: {
        summary: "Delete the services and endpoint slices the manifests of a YAML/JSON body name",
        requestBody: { content: { "application/yaml": { schema: { type: "string" } } } },
        responses: {
          200: json(
            obj({
              deleted: { type: "array", items: { type: "string" } },
              missing: { type: "array", items: { type: "string" } },
            }),
          ),
          400: error,
        },
      },
    },
    "/v1/services/validate": {
      post: {
        summary:
          "Validate Service and EndpointSlice manifests without applying them; every issue " +
          "with its field path",
        requestBody: { content: { "application/yaml": { schema: { type: "string" } } } },
        responses: { 200: json(obj({ valid: { type: "boolean" }, issues: { type: "array" } })) },
      },
    },
    "/v1/flows": {
      get: {
        summary:
          "Stored flows (Hubble's JSON), oldest first, filtered like `hypha observe`: repeated " +
          "parameters OR, different ones AND, `not-<name>` leaves matches out. follow=true " +
          "streams application/x-ndjson lines `{flow, node_name, time}` (and `{lost_events}` " +
          "where a slow reader lost flows) until the client disconnects; cluster=true asks " +
          "every node (over mutual TLS, observability.peer) and merges by time, at most " +
          "observability.peer.maxFlows flows (the most recent, or the first with first=N; " +
          "truncated: true when more matched). Every value is at most 256 characters, at most " +
          "64 filter values and 64 label requirements per query (400 naming the parameter)",
        parameters: [
          ...FLOW_FILTER_PARAMS.map((name) => ({
            name,
            in: "query",
            description: `Filter (repeatable, at most 256 characters); also as not-${name}`,
            schema: { type: "array", items: { type: "string" } },
            style: "form",
            explode: true,
          })),
          {
            name: "node",
            in: "query",
            description: "Alias of node-name",
            schema: { type: "string" },
          },
          ...["since", "until"].map((name) => ({
            name,
            in: "query",
            description: "A duration before now (5m, 1h30m) or an RFC 3339 time",
            schema: { type: "string" },
          })),
          ...["last", "first"].map((name) => ({
            name,
            in: "query",
            schema: { type: "integer", minimum: 1 },
          })),
          ...["follow", "cluster"].map((name) => ({
            name,
            in: "query",
            schema: { type: "boolean", default: false },
          })),
        ],
        responses: {
          200: {
            description: "Flows; a stream with follow=true",
            content: {
              "application/json": {
                schema: obj({
                  flows: { type: "array", items: { type: "object" } },
                  stats: { type: "object" },
                  truncated: {
                    type: "boolean",
                    description: "cluster=true: more flows matched than maxFlows",
                  },
                  nodes: {
                    type: "array",
                    description: "cluster=true: every node's answer",
                    items: obj({
                      name: { type: "string" },
                      ok: { type: "boolean" },
                      error: { type: "string" },
                      flows: { type: "integer" },
                      truncated: { type: "boolean" },
                    }),
                  },
                }),
              },
              "application/x-ndjson": { schema: { type: "string" } },
            },
          },
          400: error,
          503: error,
        },
      },
    },
    "/v1/flows/stats": {
      get: {
        summary:
          "The flow store: size, capacity, flows seen and evicted, by verdict, followers with " +
          "their queue and drops, export and peer state, and the datapath's event counters",
        responses: {
          200: json(
            obj({
              size: { type: "integer" },
              capacity: { type: "integer" },
              seen: { type: "integer" },
              evicted: { type: "integer" },
              byVerdict: { type: "object" },
              lostBefore: { type: "object" },
              subscribers: { type: "array" },
              subscriberDrops: { type: "integer" },
              export: { type: ["object", "null"] },
              peer: { type: "object" },
              datapath: { type: ["object", "null"] },
            }),
          ),
          503: error,
        },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics (text exposition format 0.0.4)",
        responses: {
          200: { description: "OK", content: { "text/plain": { schema: { type: "string" } } } },
        },
      },
    },
    "/openapi.json": {
      get: { summary: "This document", responses: { 200: json({ type: "object" }) } },
    },
    "/ui": {
      get: {
        summary: "The web UI (service map and flow table): redirects to /ui/",
        responses: { 302: { description: "Found" } },
      },
    },
    "/ui/{asset}": {
      get: {
        summary: "The web UI's page (/ui/) and its scripts and styles (no data: the page reads " +
          "/v1/flows)",
        responses: {
          200: { description: "OK", content: { "text/html": { schema: { type: "string" } } } },
          404: error,
        },
      },
    },
  },
} as const;

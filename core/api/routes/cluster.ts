// Pod networking: the nodes and endpoints this node knows, the node's network, and the CNI
// plugin's entry point.
import { Hono } from "hono";
import { type AdminBackend, NODE_RECORD_KINDS } from "../backend.ts";
import { NotFoundError, ValidationError } from "../errors.ts";

export function clusterRoutes(backend: AdminBackend): Hono {
  return new Hono()
    .get("/v1/network", (c) => {
      const network = backend.network();
      if (!network) throw new NotFoundError("Pod networking is disabled on this node");
      return c.json({ network });
    })
    .get("/v1/nodes", (c) =>
      c.json({
        nodes: backend.nodes(),
        rejected: backend.rejectedRecords().filter((r) =>
          (NODE_RECORD_KINDS as readonly string[]).includes(r.kind)
        ),
      }))
    .get("/v1/endpoints", (c) => c.json({ endpoints: backend.endpoints() }))
    .get("/v1/endpoints/:id", (c) => {
      const raw = c.req.param("id");
      const id = Number(raw);
      if (!Number.isInteger(id) || id < 1 || id > 65535) {
        throw new ValidationError(`endpoint id "${raw}" must be an integer from 1 to 65535`, "id");
      }
      return c.json({ endpoint: backend.endpoint(id) });
    })
    .post("/v1/cni", async (c) => {
      let body: unknown = "not json";
      try {
        body = await c.req.json();
      } catch {
        // answered by the CNI handler as a decoding failure
      }
      const r = await backend.cni(body);
      return c.json(r.body as Record<string, unknown>, r.status as 200);
    });
}

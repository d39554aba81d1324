// Services: apply, delete and validate Service and EndpointSlice manifests. Listing is the load
// balancer's (under /v1/plugins/lb/), which knows what each service is programmed as.
import { Hono } from "hono";
import type { AdminBackend } from "../backend.ts";

export function serviceRoutes(backend: AdminBackend): Hono {
  return new Hono()
    .post("/v1/services", async (c) => c.json(await backend.applyServices(await c.req.text())))
    .post(
      "/v1/services/delete",
      async (c) => c.json(await backend.deleteServices(await c.req.text())),
    )
    .post("/v1/services/validate", async (c) => {
      const issues = backend.validateServices(await c.req.text());
      return c.json({ valid: issues.length === 0, issues });
    });
}

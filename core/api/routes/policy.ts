// Network policy: apply, delete, validate and list manifests, and trace a verdict.
import { Hono } from "hono";
import type { AdminBackend } from "../backend.ts";
import { ValidationError } from "../errors.ts";

export function policyRoutes(backend: AdminBackend): Hono {
  return new Hono()
    .get("/v1/policies", (c) => c.json(backend.policies()))
    .post("/v1/policies", async (c) => c.json(await backend.applyPolicies(await c.req.text())))
    .post(
      "/v1/policies/delete",
      async (c) => c.json(await backend.deletePolicies(await c.req.text())),
    )
    .post("/v1/policies/validate", async (c) => {
      const issues = backend.validatePolicies(await c.req.text());
      return c.json({ valid: issues.length === 0, issues });
    })
    .get("/v1/policy/trace", (c) => {
      const q = { from: c.req.query("from"), to: c.req.query("to"), port: c.req.query("port") };
      for (const [k, v] of Object.entries(q)) {
        if (!v) throw new ValidationError(`query parameter "${k}" is required`, k);
      }
      return c.json(backend.tracePolicy(q as { from: string; to: string; port: string }));
    });
}

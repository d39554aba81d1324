// Liveness and readiness: /healthz answers while the process serves; /readyz only once the node
// finished starting (datapath loaded, plugins started).
import { Hono } from "hono";
import type { AdminBackend } from "../backend.ts";

export function healthRoutes(backend: AdminBackend): Hono {
  return new Hono()
    .get("/healthz", (c) => c.json({ status: "ok" }))
    .get("/readyz", (c) => {
      const ready = backend.node().ready;
      return c.json({ ready }, ready ? 200 : 503);
    });
}

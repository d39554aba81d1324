// Node status, effective configuration, BPF maps, interface counters and metrics.
import { Hono } from "hono";
import type { AdminBackend } from "../backend.ts";
import { ValidationError } from "../errors.ts";

export function statusRoutes(backend: AdminBackend): Hono {
  return new Hono()
    .get("/v1/status", (c) =>
      c.json({
        node: backend.node(),
        kernel: backend.features(),
        datapath: backend.datapath(),
        plugins: backend.plugins(),
        rejected: backend.rejectedRecords(),
      }))
    .get("/v1/config", (c) => c.json({ config: backend.config() }))
    .get("/v1/counters", (c) => c.json({ counters: backend.counters() }))
    .get("/v1/bpf/maps", (c) => c.json({ maps: backend.maps() }))
    .get("/v1/bpf/maps/:name", (c) => {
      const raw = c.req.query("limit") ?? "1000";
      const limit = Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
        throw new ValidationError(`limit "${raw}" must be an integer from 1 to 1000000`, "limit");
      }
      const name = c.req.param("name");
      return c.json({ map: name, entries: backend.dumpMap(name, limit) });
    })
    .get("/metrics", (c) => {
      c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      return c.body(backend.metrics());
    });
}

// Plugins: list, enable, disable at runtime; running plugins' own routes under /v1/plugins/<id>/.
import { Hono } from "hono";
import type { AdminBackend } from "../backend.ts";
import { NotFoundError, ValidationError } from "../errors.ts";

export function pluginRoutes(backend: AdminBackend): Hono {
  const app = new Hono();
  app.get("/v1/plugins", (c) => c.json({ plugins: backend.plugins() }));
  for (const action of ["enable", "disable"] as const) {
    app.post(`/v1/plugins/:id/${action}`, async (c) => {
      const body = await c.req.text();
      if (body.trim() !== "") {
        try {
          const parsed = JSON.parse(body);
          if (
            parsed === null || typeof parsed !== "object" || Array.isArray(parsed) ||
            Object.keys(parsed).length
          ) {
            throw new Error("not empty");
          }
        } catch {
          throw new ValidationError(`${action} takes no body (send none or {})`, "body");
        }
      }
      const id = c.req.param("id");
      await (action === "enable" ? backend.enablePlugin(id) : backend.disablePlugin(id));
      return c.json({ plugin: backend.plugins().find((p) => p.id === id) ?? { id } });
    });
  }
  // Sub-apps of running plugins, looked up per request so enabling a plugin exposes its routes.
  app.all("/v1/plugins/:id/*", (c) => {
    const id = c.req.param("id");
    const prefix = `/v1/plugins/${id}`;
    const rest = c.req.path.slice(prefix.length) || "/";
    for (const r of backend.pluginRoutes()) {
      if (
        r.plugin !== id || !(rest === r.path || rest.startsWith(`${r.path}/`) || r.path === "/")
      ) continue;
      const url = new URL(c.req.url);
      url.pathname = rest.slice(r.path === "/" ? 0 : r.path.length) || "/";
      return r.app.fetch(new Request(url, c.req.raw));
    }
    throw new NotFoundError(`No route ${c.req.path} (is plugin "${id}" enabled?)`);
  });
  return app;
}

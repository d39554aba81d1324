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
    const rest = c.req.path.slice(`/v1/plugins/${id}`.length) || "/";
    const r = backend.pluginRoutes().find((r) =>
      r.plugin === id && (r.path === "/" || rest === r.path || rest.startsWith(`${r.path}/`))
    );
    if (!r) throw new NotFoundError(`No route ${c.req.path} (is plugin "${id}" enabled?)`);
    const prefix = `/v1/plugins/${id}${r.path === "/" ? "" : r.path}`;
    return mounted(prefix, r.app).fetch(c.req.raw);
  });
  return app;
}

/**
 * `sub` mounted at `prefix` in an app whose errors, and a path `sub` does not serve, are thrown
 * on to the caller, so core's onError answers them (JSON, the error's status) as for its own
 * routes. route() keeps a plugin's own onError if it set one, as Hono does for any sub-app.
 * Built per request: a plugin's routes are few, and a plugin enabled later is seen at once.
 */
function mounted(prefix: string, sub: Hono): Hono {
  return new Hono()
    .route(prefix, sub)
    .notFound((c) => {
      throw new NotFoundError(`No route ${c.req.method} ${c.req.path}`);
    })
    .onError((err) => {
      throw err;
    });
}

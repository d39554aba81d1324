// The admin API: a Hono app built from an AdminBackend. Route groups live in routes/; domain
// errors become JSON in one onError.
import { Hono } from "hono";
import { ConfigError } from "../config/errors.ts";
import { PluginError } from "../plugin/host.ts";
import type { AdminBackend } from "./backend.ts";
import { ApiError, errorBody } from "./errors.ts";
import { openapi } from "./openapi.ts";
import { clusterRoutes } from "./routes/cluster.ts";
import { flowRoutes } from "./routes/flows.ts";
import { healthRoutes } from "./routes/health.ts";
import { policyRoutes } from "./routes/policy.ts";
import { serviceRoutes } from "./routes/services.ts";
import { pluginRoutes } from "./routes/plugins.ts";
import { statusRoutes } from "./routes/status.ts";
import { uiRoutes } from "../ui/mod.ts";
import { bearerMatches } from "./token.ts";
import { bodyLimits } from "./body_limit.ts";

export interface ApiOptions {
  /** Required on every route but /healthz when set (the TCP listener). */
  token?: string;
}

const PLUGIN_ERROR_STATUS = { unknown: 404, conflict: 409, failed: 500 } as const;

export function createApiApp(backend: AdminBackend, opts: ApiOptions = {}): Hono {
  const app = new Hono();
  const token = opts.token;
  if (token) {
    app.use("*", async (c, next) => {
      // the UI's files hold no data; the page sends the token with its API requests
      const open = c.req.path === "/healthz" || c.req.path === "/ui" ||
        c.req.path.startsWith("/ui/");
      if (open) return await next();
      if (!bearerMatches(c.req.header("authorization"), token)) {
        return c.json(errorBody("unauthorized", "Missing or wrong bearer token"), 401);
      }
      return await next();
    });
  }
  app.use("*", bodyLimits());
  app.route("/", healthRoutes(backend));
  app.route("/", statusRoutes(backend));
  app.route("/", pluginRoutes(backend));
  app.route("/", clusterRoutes(backend));
  app.route("/", policyRoutes(backend));
  app.route("/", serviceRoutes(backend));
  app.route("/", flowRoutes(backend));
  app.route("/", uiRoutes());
  app.get("/openapi.json", (c) => c.json(openapi));
  app.notFound((c) =>
    c.json(errorBody("not_found", `No route ${c.req.method} ${c.req.path}`), 404)
  );
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      const body = errorBody(err.code, err.message, err.field);
      return c.json(err.details ? { ...body, ...err.details } : body, err.status);
    }
    if (err instanceof PluginError) {
      const code = err.code;
      const status = PLUGIN_ERROR_STATUS[code] ?? 500;
      return c.json(
        errorBody(
          status === 404 ? "not_found" : status === 409 ? "conflict" : "internal",
          err.message,
        ),
        status,
      );
    }
    if (err instanceof ConfigError) return c.json(errorBody("invalid", err.message), 400);
    console.error(`api: ${c.req.method} ${c.req.path}: ${err.stack ?? err.message}`);
    return c.json(errorBody("internal", err.message), 500);
  });
  return app;
}

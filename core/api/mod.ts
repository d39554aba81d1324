// core/api: the admin API (Hono), its OpenAPI document, server and client.
export { createApiApp } from "./app.ts";
export type * from "./backend.ts";
export {
  ApiError,
  ConflictError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from "./errors.ts";
export { openapi } from "./openapi.ts";
export { type ApiServer, serveApi } from "./server.ts";
export { ApiClient, ApiClientError, type Target } from "./client.ts";

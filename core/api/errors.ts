// Domain errors the API maps to HTTP in one place (app.ts onError).

export type ErrorCode =
  | "not_found"
  | "conflict"
  | "invalid"
  | "unavailable"
  | "unauthorized"
  | "too_large"
  | "internal";

export class ApiError extends Error {
  override name = "ApiError";
  /** Extra top-level fields of the error body (e.g. `issues`). */
  details?: Record<string, unknown>;
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 500 | 503,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, "not_found", message);
  }
}

export class ConflictError extends ApiError {
  constructor(message: string) {
    super(409, "conflict", message);
  }
}

export class ValidationError extends ApiError {
  constructor(message: string, field?: string) {
    super(400, "invalid", message, field);
  }
}

export class UnavailableError extends ApiError {
  constructor(message: string) {
    super(503, "unavailable", message);
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

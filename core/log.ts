// Structured logging to stderr: `level time scope: message key=value ...`, filtered by level.
import type { Logger } from "./plugin/plugin.ts";

const ORDER = { debug: 0, info: 1, warn: 2, error: 3 } as const;
export type Level = keyof typeof ORDER;

function format(v: unknown): string {
  if (typeof v === "string") return /^[\w./:@-]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

export function createLogger(
  scope: string,
  level: Level = "info",
  sink: (line: string) => void = console.error,
): Logger {
  const emit = (l: Level) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[l] < ORDER[level]) return;
    const kv = Object.entries(fields).map(([k, v]) => ` ${k}=${format(v)}`).join("");
    sink(`${l.padEnd(5)} ${new Date().toISOString()} ${scope}: ${msg}${kv}`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

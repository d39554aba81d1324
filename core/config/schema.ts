// The configuration schema: every field, its default and its rule. Unknown fields are errors, so
// an operator's typo is never silently ignored.
import { z } from "zod";

const absolutePath = z.string().refine((p) => p.startsWith("/"), "must be an absolute path");

const hostPort = z.string().refine((s) => {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(s);
  return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536;
}, "must be host:port, e.g. 127.0.0.1:9962");

const ifname = z.string().regex(/^[^\s/]{1,15}$/, "must be an interface name (1-15 characters)");

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

export const nodeNameRule = {
  pattern: /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  message: "must be a DNS label: lowercase letters, digits and '-', at most 63 characters",
};

/** Every plugin's section has `enabled`; the rest is validated by the plugin's own schema. */
export const pluginSection = z.looseObject({ enabled: z.boolean().default(false) });

export const configSchema = z.strictObject({
  node: z.strictObject({
    name: z.string().refine((s) => s === "" || nodeNameRule.pattern.test(s), nodeNameRule.message)
      .default(""),
    cluster: z.string().min(1, "must not be empty").default("default"),
  }).prefault({}),
  paths: z.strictObject({
    bpffs: absolutePath.default("/sys/fs/bpf"),
    state: absolutePath.default("/var/lib/hypha"),
    run: absolutePath.default("/run/hypha"),
  }).prefault({}),
  api: z.strictObject({
    socket: z.string().refine((s) => s === "" || s.startsWith("/"), "must be an absolute path")
      .default(""),
    tcp: z.strictObject({
      enabled: z.boolean().default(false),
      listen: hostPort.default("127.0.0.1:9962"),
      tokenFile: z.string().default(""),
    }).prefault({}),
  }).prefault({}),
  datapath: z.strictObject({
    devices: z.array(ifname).default([]),
    attachMode: z.enum(["auto", "tcx", "tc"]).default("auto"),
    counters: z.boolean().default(true),
  }).prefault({}),
  plugins: z.record(z.string(), pluginSection).default({}),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default("info") }).prefault({}),
}).superRefine((c, ctx) => {
  if (c.api.tcp.enabled && !c.api.tcp.tokenFile) {
    ctx.addIssue({
      code: "custom",
      path: ["api", "tcp", "tokenFile"],
      message: "is required when api.tcp.enabled is true (the TCP listener needs a bearer token)",
    });
  }
});

export type HyphaConfig = z.output<typeof configSchema>;

// The agent side of the CNI plugin: `POST /v1/cni` (core/cni/protocol.ts). The request is
// validated again (the socket is an API like any other), then mapped onto the endpoint manager;
// CNI errors keep their spec code, and everything else becomes code 100 with the cause.
import { Hono } from "hono";
import { ifnameProblem, isValidContainerId } from "../cni/env.ts";
import { CniError, CniErrorCode, toCniError } from "../cni/errors.ts";
import { labelsFor } from "../cni/labels.ts";
import { parseNetConf, validAttachments } from "../cni/netconf.ts";
import { parsePortMappings } from "../cni/port_mappings.ts";
import type { CniErrorBody, CniRequest, CniSuccessBody } from "../cni/protocol.ts";
import { CNI_AGENT_PATH } from "../cni/protocol.ts";
import type { Logger } from "../plugin/plugin.ts";
import { HyphaCniCode } from "./errors.ts";
import type { EndpointManager } from "./manager.ts";

const COMMANDS = ["ADD", "DEL", "CHECK", "GC", "STATUS"] as const;

export interface CniReadiness {
  /** Why the node cannot wire pods now, or undefined when it can. */
  notReady(): string | undefined;
}

function parseRequest(body: unknown): CniRequest {
  const bad = (field: string, why: string) =>
    new CniError(CniErrorCode.DecodingFailure, `Invalid CNI request field "${field}": ${why}`);
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new CniError(CniErrorCode.DecodingFailure, "The CNI request must be a JSON object");
  }
  const r = body as Record<string, unknown>;
  if (!COMMANDS.includes(r.command as typeof COMMANDS[number])) {
    throw bad("command", `must be one of ${COMMANDS.join(", ")}`);
  }
  for (const f of ["containerId", "netns", "ifname"]) {
    if (typeof r[f] !== "string") throw bad(f, "must be a string");
  }
  const args = r.args ?? {};
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw bad("args", "must be an object of strings");
  }
  const command = r.command as CniRequest["command"];
  // The netconf is checked exactly as the plugin checks stdin.
  const config = parseNetConf(JSON.stringify(r.config ?? null), command);
  const req: CniRequest = {
    command,
    containerId: r.containerId as string,
    netns: r.netns as string,
    ifname: r.ifname as string,
    args: args as Record<string, string>,
    config,
  };
  if (command === "ADD" || command === "DEL" || command === "CHECK") {
    if (!isValidContainerId(req.containerId)) {
      throw new CniError(
        CniErrorCode.InvalidEnvironment,
        `Invalid container id "${req.containerId}"`,
      );
    }
    const why = ifnameProblem(req.ifname);
    if (why) throw new CniError(CniErrorCode.InvalidEnvironment, `Invalid ifname: ${why}`);
    if (command !== "DEL" && !req.netns) {
      throw new CniError(CniErrorCode.InvalidEnvironment, "CNI_NETNS is required for " + command);
    }
  }
  return req;
}

function httpStatus(code: number): 400 | 404 | 409 | 500 | 503 {
  if (code === CniErrorCode.TryAgainLater || code === HyphaCniCode.NotReady) return 503;
  if (code === CniErrorCode.PluginNotAvailable) return 503;
  if (code === CniErrorCode.UnknownContainer) return 404;
  if (code === HyphaCniCode.DuplicateAttachment || code === HyphaCniCode.PodCidrExhausted) {
    return 409;
  }
  if (code >= 1 && code <= 7) return 400;
  return 500;
}

export class CniHandler {
  /** Requests handled, by "COMMAND/code" (code 0 = success), for metrics. */
  readonly requests = new Map<string, number>();

  constructor(
    readonly manager: EndpointManager,
    readonly readiness: CniReadiness,
    readonly log: Logger,
  ) {}

  /** Runs one CNI request; never throws. */
  async handle(body: unknown): Promise<{ status: number; body: CniSuccessBody | CniErrorBody }> {
    const started = performance.now();
    let command = "?";
    try {
      const req = parseRequest(body);
      command = req.command;
      const result = await this.#run(req);
      this.log.debug("cni", { command, ms: Math.round(performance.now() - started) });
      this.#count(command, 0);
      return { status: 200, body: { result } };
    } catch (err) {
      const cni = toCniError(err);
      if (cni.code === HyphaCniCode.Internal || !(err instanceof CniError)) {
        this.log.error("cni request failed", { command, error: String(err) });
      }
      const status = httpStatus(cni.code);
      this.#count(command, cni.code);
      return {
        status,
        body: {
          error: {
            code: status === 503
              ? "unavailable"
              : status === 409
              ? "conflict"
              : status === 404
              ? "not_found"
              : status === 400
              ? "invalid"
              : "internal",
            message: cni.msg,
          },
          cni: { code: cni.code, msg: cni.msg, ...(cni.details ? { details: cni.details } : {}) },
        },
      };
    }
  }

  #count(command: string, code: number): void {
    const key = `${command}/${code}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  async #run(req: CniRequest): Promise<unknown> {
    const m = this.manager;
    switch (req.command) {
      case "ADD": {
        const why = this.readiness.notReady();
        if (why) throw new CniError(HyphaCniCode.NotReady, "The node is not ready for pods", why);
        const { labels, namespace, name } = labelsFor(req.config, req.args);
        return await m.add({
          containerId: req.containerId,
          netns: req.netns,
          ifname: req.ifname,
          namespace: namespace ?? "",
          pod: name ?? "",
          labels,
          mtu: req.config.mtu ?? 0,
          hostPorts: req.config.runtimeConfig?.portMappings !== undefined
            ? parsePortMappings(req.config.runtimeConfig.portMappings)
            : [],
        });
      }
      case "DEL":
        await m.del(req.containerId, req.ifname);
        return null;
      case "CHECK":
        await m.check(req.containerId, req.ifname, req.netns);
        return null;
      case "GC": {
        const valid = validAttachments(req.config).map((a) => ({
          containerId: a.containerID,
          ifname: a.ifname,
        }));
        await m.gc(valid);
        return null;
      }
      case "STATUS": {
        const why = this.readiness.notReady();
        if (why) throw new CniError(CniErrorCode.PluginNotAvailable, "hypha is not ready", why);
        return null;
      }
    }
  }
}

export function cniRoutes(handler: CniHandler): Hono {
  const app = new Hono();
  app.post(CNI_AGENT_PATH, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      body = undefined;
    }
    const r = await handler.handle(body ?? "not json");
    return c.json(r.body, r.status as 200);
  });
  return app;
}

// core/agent: the node agent's lifecycle — run until signalled, and clean up on request.
import { createLogger } from "../log.ts";
import { ATTACHMENT_PREFIXES, HostDatapath } from "../datapath/host.ts";
import { deleteLink, getLink, reconcileRoutes } from "../netlink/mod.ts";
import { ENDPOINT_IFNAME_PREFIX } from "../network/node_network.ts";
import type { HyphaConfig } from "../config/schema.ts";
import { Agent, type AgentOptions, loadAgentConfig } from "./agent.ts";
import { derivePaths } from "./paths.ts";

export { Agent, type AgentOptions, configFlags, loadAgentConfig } from "./agent.ts";
export { derivePaths, type NodePaths } from "./paths.ts";

/**
 * Runs the agent until SIGINT/SIGTERM, then stops gracefully (the datapath stays attached).
 * Returns the process exit code; a failed start prints one line saying why.
 */
export async function runAgent(opts: AgentOptions): Promise<number> {
  let agent: Agent;
  try {
    agent = await Agent.start(opts);
  } catch (err) {
    console.error(`hypha agent: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  const stop = Promise.withResolvers<string>();
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((sig) => {
    const h = () => stop.resolve(sig);
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  agent.whenReady.catch((err) => stop.resolve(`fatal: ${(err as Error).message}`));
  const signal = await stop.promise;
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  const fatal = signal.startsWith("fatal: ");
  if (fatal) {
    agent.log.error(`cannot bring the node up, stopping: ${signal.slice(7)}`);
    console.error(`hypha agent: ${signal.slice(7)}`);
  } else agent.log.info(`received ${signal}, stopping`);
  await agent.stop();
  return fatal ? 1 : 0;
}

/** Removes everything hypha put into the kernel for a node: attachments and pinned maps. */
export async function cleanupNode(opts: AgentOptions): Promise<{ removed: string[] }> {
  const { config } = await loadAgentConfig(opts);
  const paths = derivePaths(config.node.name, config.paths, config.api.socket);
  const removed = HostDatapath.cleanup(paths);
  removed.push(...await cleanupNetworking(config));
  const stateFiles = [
    ...ATTACHMENT_PREFIXES.map((p) => `${paths.stateDir}/${p}_filters.json`),
    `${paths.stateDir}/agent.json`,
  ];
  for (const path of stateFiles) {
    try {
      await Deno.remove(path);
      removed.push(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  createLogger(`cleanup[${config.node.name}]`, config.log.level).info("done", {
    removed: removed.length,
  });
  return { removed };
}

/**
 * The pod network's kernel state besides maps and programs: hypha's routes to other nodes and the
 * tunnel device. Endpoint veths belong to their pods and go with CNI DEL (or the pod's namespace).
 */
async function cleanupNetworking(config: HyphaConfig): Promise<string[]> {
  const removed: string[] = [];
  try {
    const r = await reconcileRoutes([], {
      keep: (route) => route.dev.startsWith(ENDPOINT_IFNAME_PREFIX),
    });
    if (r.removed) removed.push(`${r.removed} route(s)`);
  } catch {
    // no routes to list (e.g. no permission): nothing of ours to remove
  }
  const tunnel = config.networking.tunnelDevice;
  if ((await getLink(tunnel).catch(() => undefined))?.kind === "vxlan") {
    await deleteLink(tunnel);
    removed.push(`device ${tunnel}`);
  }
  return removed;
}

// core/agent: the node agent's lifecycle — run until signalled, and clean up on request.
import { createLogger } from "../log.ts";
import { HostDatapath } from "../datapath/host.ts";
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
  const signal = await stop.promise;
  for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  agent.log.info(`received ${signal}, stopping`);
  await agent.stop();
  return 0;
}

/** Removes everything hypha put into the kernel for a node: attachments and pinned maps. */
export async function cleanupNode(opts: AgentOptions): Promise<{ removed: string[] }> {
  const { config } = await loadAgentConfig(opts);
  const paths = derivePaths(config.node.name, config.paths, config.api.socket);
  const removed = HostDatapath.cleanup(paths);
  for (const path of [`${paths.stateDir}/tc_filters.json`, `${paths.stateDir}/agent.json`]) {
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

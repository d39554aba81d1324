// Finding the node's agent when the network configuration does not name its socket.
import { CniError, CniErrorCode } from "./errors.ts";
import { quoteList } from "./_validate.ts";

/** Agents listen on `<runDir>/<node>/api.sock` (see core/agent/paths.ts). */
export const DEFAULT_RUN_DIR = "/run/hypha";

/**
 * The one `<runDir>/<node>/api.sock` that exists, or undefined when there is none (yet).
 * Several sockets is a configuration error (code 7): which agent owns this network is ambiguous.
 */
export async function findAgentSocket(runDir: string): Promise<string | undefined> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(runDir)) {
      const path = `${runDir}/${entry.name}/api.sock`;
      try {
        await Deno.lstat(path);
        found.push(path);
      } catch {
        // no agent for this entry
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (found.length > 1) {
    throw new CniError(
      CniErrorCode.InvalidNetworkConfig,
      `Several agents found: ${quoteList(found.sort())}`,
      `Set "agentSocket" in the network configuration to the one this network belongs to.`,
    );
  }
  return found[0];
}

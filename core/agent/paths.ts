// Everything an agent owns is derived from its node name, so several agents (lab nodes) can share
// one kernel and one filesystem without clashing.
import { join } from "node:path";

export interface NodePaths {
  /** bpffs directory holding this node's pinned maps (`maps/`) and links (`links/`). */
  pinDir: string;
  mapsDir: string;
  stateDir: string;
  runDir: string;
  apiSocket: string;
}

export function derivePaths(
  node: string,
  paths: { bpffs: string; state: string; run: string },
  apiSocket = "",
): NodePaths {
  const pinDir = join(paths.bpffs, "hypha", node);
  const runDir = join(paths.run, node);
  return {
    pinDir,
    mapsDir: join(pinDir, "maps"),
    stateDir: join(paths.state, node),
    runDir,
    apiSocket: apiSocket || join(runDir, "api.sock"),
  };
}

// CLI: runs conformance cases against a lab cluster.
//   deno run -A tests/conformance/main.ts [case files or dirs] [--filter RE] [--nodes N]
//     [--timeout MS] [--concurrency N]
// With no paths it runs every case in cases/. Exits 1 when any case fails or none ran.
import { fileURLToPath } from "node:url";
import { createLabCluster } from "./lab_cluster.ts";
import { formatLine, formatReport } from "./report.ts";
import { findCaseFiles, runCases, type RunOptions } from "./runner.ts";

const USAGE =
  "usage: main.ts [case files or dirs] [--filter RE] [--nodes N] [--timeout MS] [--concurrency N]";

interface Args {
  paths: string[];
  nodes: number;
  opts: RunOptions;
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { paths: [], nodes: 2, opts: {} };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      args.paths.push(arg);
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(`${arg} must be a positive integer, got "${value}"`);
      }
      return n;
    };
    if (arg === "--filter") args.opts.filter = new RegExp(value);
    else if (arg === "--nodes") args.nodes = int();
    else if (arg === "--timeout") args.opts.probeTimeoutMs = int();
    else if (arg === "--concurrency") args.opts.concurrency = int();
    else throw new Error(`Unknown option "${arg}"\n${USAGE}`);
  }
  if (args.paths.length === 0) args.paths.push(fileURLToPath(new URL("./cases", import.meta.url)));
  return args;
}

async function main(argv: readonly string[]): Promise<number> {
  const { paths, nodes, opts } = parseArgs(argv);
  const files = await findCaseFiles(paths);
  await using cluster = await createLabCluster({ nodes });
  const results = await runCases(cluster, files, {
    ...opts,
    onResult: (r) => console.error(formatLine(r)),
  });
  console.log(formatReport(results));
  if (results.length === 0) console.log("No case ran (check the paths and --filter).");
  return results.length > 0 && results.every((r) => r.status === "pass") ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    Deno.exit(2);
  }
}

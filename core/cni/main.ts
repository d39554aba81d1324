// The hypha CNI plugin executable. A container runtime runs it once per CNI operation with the
// CNI_* environment and the network configuration on stdin. Imports only core/cni files: it
// starts once per pod, so its import graph stays tiny.
import { agentCallOverSocket } from "./agent_call.ts";
import { CniError, CniErrorCode, cniErrorJson } from "./errors.ts";
import { runCniPlugin } from "./plugin.ts";
import { LATEST_VERSION } from "./version.ts";

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, text: string) {
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(await w.write(bytes));
}

/** Runs one CNI invocation of this process (env, stdin) and returns the exit code. */
export async function cniMain(): Promise<number> {
  let out;
  try {
    const stdin = await new Response(Deno.stdin.readable).text();
    out = await runCniPlugin({ env: Deno.env.toObject(), stdin, call: agentCallOverSocket });
  } catch (err) {
    const e = new CniError(
      CniErrorCode.IoFailure,
      `Failed to read stdin: ${(err as Error).message}`,
    );
    out = {
      stdout: `${JSON.stringify(cniErrorJson(LATEST_VERSION, e), null, 2)}\n`,
      stderr: "",
      exitCode: 1,
    };
  }
  await writeAll(Deno.stdout, out.stdout);
  await writeAll(Deno.stderr, out.stderr);
  return out.exitCode;
}

if (import.meta.main) Deno.exit(await cniMain());

// The CNI execution parameters: CNI_* environment variables, validated per command as the spec
// requires (1.0 "Parameters" and each operation's "Input"; 1.1 adds GC and STATUS).
import { CniError, CniErrorCode } from "./errors.ts";
import { quoteList } from "./_validate.ts";
import { ifnameProblem } from "../netlink/validate.ts";

/** The kernel's rule for interface names, and what `ip -batch` lines can carry (core/netlink). */
export { ifnameProblem };

export const CNI_COMMANDS = ["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"] as const;
export type CniCommand = typeof CNI_COMMANDS[number];

/** Validated parameters. Variables a command does not take are empty (`args` is `{}`). */
export interface CniEnv {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs, every pair kept (also ignored unknown ones). */
  args: Record<string, string>;
  /** CNI_PATH split on ":" (empty entries dropped). */
  path: string[];
}

type Variable = "CNI_CONTAINERID" | "CNI_NETNS" | "CNI_IFNAME" | "CNI_PATH";

/** The spec's "required environment parameters" per operation (CNI_COMMAND is always required). */
const REQUIRED: Record<CniCommand, readonly Variable[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"], // CNI_NETNS is optional: the netns may be gone
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  GC: ["CNI_PATH"],
  STATUS: [],
  VERSION: [],
};

/** Keys of CNI_ARGS hypha knows (the Kubernetes runtimes' convention), plus IgnoreUnknown. */
export const KNOWN_CNI_ARGS = [
  "IgnoreUnknown",
  "K8S_POD_NAMESPACE",
  "K8S_POD_NAME",
  "K8S_POD_INFRA_CONTAINER_ID",
  "K8S_POD_UID",
] as const;

/** Validates the CNI_* variables for the command they name; throws CniError code 4 naming one. */
export function parseEnv(env: Record<string, string | undefined>): CniEnv {
  const command = parseCommand(env.CNI_COMMAND);
  const out: CniEnv = { command, containerId: "", netns: "", ifname: "", args: {}, path: [] };
  for (const name of REQUIRED[command]) {
    if (!env[name]) throw invalidEnv(`Missing ${name}: required for ${command}`);
  }
  out.path = (env.CNI_PATH ?? "").split(":").filter((p) => p !== "");
  if (command !== "ADD" && command !== "DEL" && command !== "CHECK") return out;

  out.containerId = checkContainerId(env.CNI_CONTAINERID ?? "");
  out.netns = env.CNI_NETNS ?? "";
  if (out.netns !== "" && !out.netns.startsWith("/")) {
    throw invalidEnv(`Invalid CNI_NETNS ${JSON.stringify(out.netns)}: must be an absolute path`);
  }
  out.ifname = checkIfname(env.CNI_IFNAME ?? "");
  out.args = parseCniArgs(env.CNI_ARGS ?? "");
  return out;
}

function parseCommand(value: string | undefined): CniCommand {
  if ((CNI_COMMANDS as readonly string[]).includes(value ?? "")) return value as CniCommand;
  const what = value ? `Invalid CNI_COMMAND ${JSON.stringify(value)}` : "Missing CNI_COMMAND";
  throw invalidEnv(`${what}: must be one of ${quoteList(CNI_COMMANDS)}`);
}

// Container ID (spec 1.0): must start with an alphanumeric character, optionally followed by
// alphanumerics, underscore, dot or hyphen.
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function isValidContainerId(id: string): boolean {
  return CONTAINER_ID.test(id);
}

function checkContainerId(id: string): string {
  if (isValidContainerId(id)) return id;
  throw invalidEnv(
    `Invalid CNI_CONTAINERID ${JSON.stringify(id)}: must start with a letter or digit, ` +
      `followed by letters, digits, "_", "." or "-"`,
  );
}

function checkIfname(name: string): string {
  const problem = ifnameProblem(name);
  if (problem) throw invalidEnv(`Invalid CNI_IFNAME ${JSON.stringify(name)}: ${problem}`);
  return name;
}

/**
 * Parses CNI_ARGS ("K=V;K2=V2") as libcni does: every pair must have exactly one "=", and keys
 * hypha does not know are an error unless IgnoreUnknown is true ("1"/"true"), which Kubernetes
 * runtimes always set. Later duplicates win.
 */
export function parseCniArgs(text: string): Record<string, string> {
  const args: Record<string, string> = {};
  if (text === "") return args;
  for (const pair of text.split(";")) {
    const parts = pair.split("=");
    if (parts.length !== 2 || parts[0] === "") {
      throw invalidEnv(`Invalid CNI_ARGS pair ${JSON.stringify(pair)}: must be KEY=VALUE`);
    }
    args[parts[0]!] = parts[1]!;
  }
  const ignore = args.IgnoreUnknown;
  if (ignore !== undefined && !/^(1|0|true|false)$/i.test(ignore)) {
    throw invalidEnv(
      `Invalid CNI_ARGS IgnoreUnknown ${
        JSON.stringify(ignore)
      }: must be "1", "true", "0" or "false"`,
    );
  }
  const unknown = Object.keys(args).filter((k) =>
    !(KNOWN_CNI_ARGS as readonly string[]).includes(k)
  );
  if (unknown.length > 0 && !/^(1|true)$/i.test(ignore ?? "")) {
    throw invalidEnv(
      `Invalid CNI_ARGS: unknown keys ${quoteList(unknown)} (add IgnoreUnknown=1 to ignore them)`,
    );
  }
  return args;
}

function invalidEnv(msg: string): CniError {
  return new CniError(CniErrorCode.InvalidEnvironment, msg);
}

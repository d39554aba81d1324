// Every plugin hypha ships, in one list. The only file in core that may import from plugins/
// (enforced by `deno task check:plugins`). Plugin folders are added as their plugins are built.
import type { Plugin } from "./plugin/mod.ts";
import { lbPlugin } from "../plugins/lb/mod.ts";

export const PLUGINS: ReadonlyArray<Plugin<unknown>> = [lbPlugin as Plugin<unknown>];

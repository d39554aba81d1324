// hypha: the single entry point (agent, CLI, CNI later). `deno compile` builds this file.
import { main } from "./core/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

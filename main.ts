// hypha: the single entry point (agent, CLI and CNI plugin). `deno compile` builds this file.
// A container runtime runs the same executable as the CNI plugin: it sets CNI_COMMAND.

if (import.meta.main) {
  if (Deno.env.get("CNI_COMMAND")) {
    const { cniMain } = await import("./core/cni/main.ts");
    Deno.exit(await cniMain());
  }
  const { main } = await import("./core/cli/main.ts");
  Deno.exit(await main(Deno.args));
}

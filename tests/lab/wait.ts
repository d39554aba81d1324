// Polling for a condition the lab reaches eventually (an agent programs a map, a flow arrives,
// a page shows a row).

/**
 * Calls `check` every `intervalMs` until it is true; a check that throws counts as not yet.
 * After `timeoutMs`, throws naming `what` and the check's last error.
 */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last = "";
    try {
      if (await check()) return;
    } catch (err) {
      last = `: ${(err as Error).message}`;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Abort signals combined by hand. Deno's AbortSignal.any() holds the combined signal weakly: once
// garbage-collected it no longer follows its sources, and a fetch waiting on it is never aborted
// (seen as a watch whose close() hung after a reconnect). Listeners here hold it strongly.

/** A signal aborted when any of `sources` aborts; release() detaches it from them. */
export function linkedSignal(...sources: AbortSignal[]): { signal: AbortSignal; release(): void } {
  const ctl = new AbortController();
  const abort = () => ctl.abort();
  for (const s of sources) {
    if (s.aborted) ctl.abort();
    else s.addEventListener("abort", abort, { once: true });
  }
  return {
    signal: ctl.signal,
    release: () => sources.forEach((s) => s.removeEventListener("abort", abort)),
  };
}

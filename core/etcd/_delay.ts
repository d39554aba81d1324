// An abortable sleep that never leaves a timer behind.

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** `ms` give or take a quarter, so clients that failed together do not retry together. */
export function jitter(ms: number): number {
  return ms * (0.75 + Math.random() / 2);
}

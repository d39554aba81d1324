// Cancellation that does not depend on Deno keeping derived abort signals alive. Deno holds the
// signal a Request derives from `init.signal` (and AbortSignal.any()'s result) weakly: once the
// fetch has its response headers nothing else references it, and after a garbage collection
// aborting the caller's signal no longer reaches the response body, so a read on a silent stream
// hangs forever (seen as a watch whose close() hung after a reconnect). Here every link is a plain
// listener, and bodies are read through readers that the abort cancels directly.

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

/**
 * The chunks of `body` until it ends; when `signal` aborts, the pending read is cancelled and
 * the iteration throws the abort reason. Stopping the iteration early cancels the body.
 */
export async function* readChunks(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  let done = false;
  try {
    for (;;) {
      const chunk = await reader.read();
      signal.throwIfAborted();
      if (chunk.done) break;
      yield chunk.value;
    }
    done = true;
  } finally {
    signal.removeEventListener("abort", cancel);
    if (!done) cancel();
  }
}

/**
 * The whole body as text, or the abort reason when `signal` aborts first; a body longer than
 * `maxBytes` is cancelled and `tooLarge()` thrown.
 */
export async function readText(
  body: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
  maxBytes = Infinity,
  tooLarge: () => Error = () => new RangeError(`body exceeds ${maxBytes} bytes`),
) {
  if (!body) return "";
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for await (const chunk of readChunks(body, signal)) {
    bytes += chunk.length;
    if (bytes > maxBytes) throw tooLarge(); // leaving the loop cancels the body
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

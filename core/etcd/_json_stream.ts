// Splits a byte stream of concatenated JSON objects (the gateway's streaming responses: one object
// per message, newline separated, but chunk boundaries fall anywhere, even inside a UTF-8
// sequence) into parsed objects. One object may not grow past a limit: a peer that streams an
// endless or giant object fails the stream instead of filling memory.
import { readChunks } from "./_abort.ts";

/** What the splitter keeps of one object at most by default (etcd's own request limit is 1.5 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** A message larger than the limit (counted in characters: the gateway's JSON is ASCII). */
export class MessageTooLargeError extends Error {
  override name = "MessageTooLargeError";
  constructor(readonly limit: number) {
    super(`a message exceeds the limit of ${limit} bytes`);
  }
}

/** Incremental splitter: feed text, get back every object completed so far. */
export class JsonObjectSplitter {
  readonly #max: number;
  #buf = "";
  #pos = 0; // next character to scan
  #start = -1; // start of the current object, -1 between objects
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(maxObjectBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#max = maxObjectBytes;
  }

  /** Throws MessageTooLargeError once the object in progress passes the limit. */
  push(text: string): unknown[] {
    this.#buf += text;
    const out: unknown[] = [];
    for (; this.#pos < this.#buf.length; this.#pos++) {
      const c = this.#buf[this.#pos]!;
      if (this.#start < 0) {
        if (c === "{") {
          this.#start = this.#pos;
          this.#depth = 1;
        } else if (!/\s/.test(c)) {
          throw new SyntaxError(`Unexpected ${JSON.stringify(c)} between JSON objects`);
        }
        continue;
      }
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === "\\") this.#escaped = true;
        else if (c === '"') this.#inString = false;
      } else if (c === '"') {
        this.#inString = true;
      } else if (c === "{" || c === "[") {
        this.#depth++;
      } else if (c === "}" || c === "]") {
        if (--this.#depth === 0) {
          out.push(JSON.parse(this.#buf.slice(this.#start, this.#pos + 1)));
          this.#start = -1;
        }
      }
    }
    // Drop what has been consumed so the buffer holds at most one partial object.
    const keep = this.#start < 0 ? this.#pos : this.#start;
    this.#buf = this.#buf.slice(keep);
    this.#pos -= keep;
    if (this.#start >= 0) {
      this.#start = 0;
      if (this.#buf.length > this.#max) throw new MessageTooLargeError(this.#max);
    }
    return out;
  }

  /** True when the input ended between objects. */
  get idle(): boolean {
    return this.#start < 0;
  }
}

/**
 * The objects of a streaming response body, in order. Aborting `signal` cancels the body and
 * makes the iteration throw (see _abort.ts for why a fetch's own signal is not enough).
 */
export async function* jsonObjects(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal = new AbortController().signal,
  maxObjectBytes = DEFAULT_MAX_MESSAGE_BYTES,
): AsyncGenerator<unknown> {
  const splitter = new JsonObjectSplitter(maxObjectBytes);
  const decoder = new TextDecoder(); // streaming: a UTF-8 sequence may span chunks
  for await (const chunk of readChunks(body, signal)) {
    yield* splitter.push(decoder.decode(chunk, { stream: true }));
  }
  splitter.push(decoder.decode());
  if (!splitter.idle) throw new SyntaxError("Stream ended inside a JSON object");
}

// Proof of life for a long-lived stream that may rightly stay silent (a watch on keys nobody
// changes). After half the window without a message the stream is probed; when the window passes
// with no message at all, it is declared dead. A half-open connection (the peer's traffic dropped,
// no FIN or RST ever arrives) is so noticed within `windowMs` instead of never.

export interface LivenessOptions {
  windowMs: number;
  /** Asks for a sign of life: its answer must end up in seen(). Errors are the probe's own. */
  probe(): void;
  /** Called once when the window passed in silence; the checker stops. */
  onDead(silentMs: number): void;
}

export class Liveness {
  readonly #o: LivenessOptions;
  #last = Date.now();
  #probed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(o: LivenessOptions) {
    this.#o = o;
    this.#schedule(o.windowMs / 2);
  }

  /** A message arrived: the stream is alive. */
  seen(): void {
    this.#last = Date.now();
    this.#probed = false;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(ms, 1));
  }

  #check(): void {
    const { windowMs } = this.#o;
    const silent = Date.now() - this.#last;
    if (silent >= windowMs) {
      this.#timer = undefined;
      this.#o.onDead(silent);
      return;
    }
    if (silent >= windowMs / 2 && !this.#probed) {
      this.#probed = true;
      this.#o.probe();
    }
    const half = windowMs / 2;
    this.#schedule(silent >= half ? windowMs - silent : half - silent);
  }
}

// Glob patterns where `*` matches any run of characters (node names in flow filters), matched in
// time linear in the pattern and the text, whatever the pattern: no regular expression, no
// backtracking. A client sends these patterns, so a pattern such as `*a*a*a…*a!` (which makes a
// backtracking regular expression run for minutes on one 40-byte name) must cost what a plain
// comparison costs.
//
// How: the text must start with the part before the first `*` and end with the part after the
// last one; every part in between is found leftmost, in order, after the previous one (taking the
// leftmost occurrence never loses a match, since `*` absorbs anything). Each middle part is found
// with Knuth-Morris-Pratt, which never looks at a character of the text more than twice, and each
// search starts where the previous one ended: at most 2 x |text| comparisons in all.

export class Glob {
  readonly pattern: string;
  /** The literal parts between stars: `a*b**c` -> ["a", "b", "", "c"]. */
  readonly #parts: string[];
  /** KMP failure table of each middle part (index 1 .. parts.length - 2). */
  readonly #fail: Int32Array[];
  /**
   * Character comparisons made by the last `matches()` call: the work, counted, so a test can
   * show it is linear without timing anything.
   */
  steps = 0;

  constructor(pattern: string) {
    this.pattern = pattern;
    this.#parts = pattern.split("*");
    this.#fail = this.#parts.map((p, i) =>
      i > 0 && i < this.#parts.length - 1 ? failureTable(p) : new Int32Array(0)
    );
  }

  matches(text: string): boolean {
    this.steps = 0;
    const parts = this.#parts;
    const first = parts[0]!;
    if (parts.length === 1) {
      this.steps = Math.min(first.length, text.length) + 1;
      return text === first;
    }
    const last = parts[parts.length - 1]!;
    if (first.length + last.length > text.length) return false;
    this.steps = first.length + last.length;
    if (!text.startsWith(first) || !text.endsWith(last)) return false;
    let at = first.length;
    const end = text.length - last.length;
    for (let i = 1; i < parts.length - 1; i++) {
      const found = this.#find(parts[i]!, this.#fail[i]!, text, at, end);
      if (found < 0) return false;
      at = found + parts[i]!.length;
    }
    return true;
  }

  /** Where `part` first occurs wholly inside text[from, end), or -1 (KMP). */
  #find(part: string, fail: Int32Array, text: string, from: number, end: number): number {
    const m = part.length;
    if (m === 0) return from;
    let k = 0; // characters of `part` matched so far
    for (let i = from; i < end; i++) {
      const c = text.charCodeAt(i);
      for (;;) {
        this.steps++;
        if (part.charCodeAt(k) === c) {
          k++;
          break;
        }
        if (k === 0) break;
        k = fail[k - 1]!;
      }
      if (k === m) return i - m + 1;
    }
    return -1;
  }
}

/** fail[j]: the length of the longest proper prefix of part[0..j] that is also its suffix. */
function failureTable(part: string): Int32Array {
  const fail = new Int32Array(part.length);
  let k = 0;
  for (let j = 1; j < part.length; j++) {
    while (k > 0 && part.charCodeAt(j) !== part.charCodeAt(k)) k = fail[k - 1]!;
    if (part.charCodeAt(j) === part.charCodeAt(k)) k++;
    fail[j] = k;
  }
  return fail;
}

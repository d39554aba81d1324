// Reading a state file: missing, readable, or damaged (empty, not JSON, not the expected shape, an
// I/O error). A damaged file is an outcome, never an exception: the owner reports it and rebuilds
// what it held from the kernel or the cluster store.

export type StateRead<T> =
  | { kind: "ok"; value: T }
  | { kind: "missing" }
  | { kind: "damaged"; problem: string };

/**
 * Checks a parsed value and returns it typed; throws an Error whose message says what is wrong
 * (it becomes the reported problem).
 */
export type StateParser<T> = (json: unknown) => T;

/** Text to a value; throws an Error saying what is wrong. */
type TextParser<T> = (text: string) => T;

function interpret<T>(text: string, parse: TextParser<T>): StateRead<T> {
  if (text.trim() === "") return { kind: "damaged", problem: "the file is empty" };
  try {
    return { kind: "ok", value: parse(text) };
  } catch (err) {
    return { kind: "damaged", problem: (err as Error).message };
  }
}

function json<T>(parse: StateParser<T>): TextParser<T> {
  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new Error(`not valid JSON (${(err as Error).message})`);
    }
    return parse(value);
  };
}

function failed<T>(err: unknown): StateRead<T> {
  if (err instanceof Deno.errors.NotFound) return { kind: "missing" };
  return { kind: "damaged", problem: `cannot read it (${(err as Error).message})` };
}

async function read<T>(path: string, parse: TextParser<T>): Promise<StateRead<T>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    return failed(err);
  }
  return interpret(text, parse);
}

/** A JSON state file, checked by `parse`. */
export function readStateFile<T>(path: string, parse: StateParser<T>): Promise<StateRead<T>> {
  return read(path, json(parse));
}

/** A plain-text state file (one value, such as an id), checked by `parse`. */
export function readStateText<T>(path: string, parse: TextParser<T>): Promise<StateRead<T>> {
  return read(path, parse);
}

export function readStateFileSync<T>(path: string, parse: StateParser<T>): StateRead<T> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    return failed(err);
  }
  return interpret(text, json(parse));
}

/** A parser for a JSON object of string keys whose values `check` accepts. */
export function recordOf<V>(
  what: string,
  check: (v: unknown) => v is V,
): StateParser<Record<string, V>> {
  return (json) => {
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new Error(`expected a JSON object of ${what}`);
    }
    for (const [k, v] of Object.entries(json)) {
      if (!check(v)) throw new Error(`entry "${k}" is not ${what}`);
    }
    return json as Record<string, V>;
  };
}

/** A parser for a JSON object, any values (the owner validates its entries itself). */
export const anyObject: StateParser<Record<string, unknown>> = recordOf(
  "any value",
  (_v): _v is unknown => true,
);

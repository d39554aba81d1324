// Command-line parsing: positional words, then flags (`--flag value`, `--flag=value`, `-o json`).
// Unknown flags are errors that name the flag.

export interface FlagSpec {
  /** Flags taking a value; `repeat` ones collect every occurrence. */
  values: Record<string, { repeat?: boolean; short?: string }>;
  booleans: string[];
}

export interface Parsed {
  words: string[];
  values: Map<string, string[]>;
  booleans: Set<string>;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function parseArgs(args: string[], spec: FlagSpec): Parsed {
  const out: Parsed = { words: [], values: new Map(), booleans: new Set() };
  const shorts = new Map(
    Object.entries(spec.values).flatMap(([k, v]) => (v.short ? [[v.short, k]] : [])),
  );
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      out.words.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else {
      const long = shorts.get(arg.slice(1));
      if (!long) throw new UsageError(`unknown flag "${arg}"`);
      name = long;
    }
    if (spec.booleans.includes(name)) {
      out.booleans.add(name);
      continue;
    }
    const def = spec.values[name];
    if (!def) throw new UsageError(`unknown flag "--${name}" (see hypha help)`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`flag "--${name}" needs a value`);
    const list = out.values.get(name) ?? [];
    if (list.length && !def.repeat) throw new UsageError(`flag "--${name}" given twice`);
    list.push(value);
    out.values.set(name, list);
  }
  return out;
}

export function one(p: Parsed, name: string): string | undefined {
  return p.values.get(name)?.[0];
}

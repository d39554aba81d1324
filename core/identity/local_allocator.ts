// Node-local identity allocation for the local store (no cluster store): label set -> number,
// persisted in the node's state directory so identities survive restarts. With several nodes and
// no cluster store, numbers are only meaningful on the node that allocated them.
import { join } from "node:path";
import { labelsKey } from "./labels.ts";

export const FIRST_ALLOCATED_IDENTITY = 256;
export const MAX_IDENTITY = 0xffffff; // carried in the 24-bit VXLAN VNI

export class LocalIdentityAllocator {
  readonly #file: string;
  readonly #byKey = new Map<string, number>();
  readonly #labels = new Map<number, Record<string, string>>();
  #next = FIRST_ALLOCATED_IDENTITY;

  private constructor(stateDir: string) {
    this.#file = join(stateDir, "identities.json");
  }

  static async open(stateDir: string): Promise<LocalIdentityAllocator> {
    const a = new LocalIdentityAllocator(stateDir);
    try {
      const saved = JSON.parse(await Deno.readTextFile(a.#file)) as Record<string, number>;
      for (const [key, id] of Object.entries(saved)) {
        a.#byKey.set(key, id);
        a.#labels.set(id, labelsFromKey(key));
        a.#next = Math.max(a.#next, id + 1);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new Error(`Cannot read identities from "${a.#file}": ${(err as Error).message}`);
      }
    }
    return a;
  }

  /** Every identity allocated so far with its labels. */
  all(): Array<[number, Record<string, string>]> {
    return [...this.#labels.entries()];
  }

  async identityFor(labels: Record<string, string>): Promise<number> {
    const key = labelsKey(labels);
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    if (this.#next > MAX_IDENTITY) throw new Error("No identity left: all 2^24 numbers are in use");
    const id = this.#next++;
    this.#byKey.set(key, id);
    this.#labels.set(id, { ...labels });
    const tmp = `${this.#file}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(Object.fromEntries(this.#byKey)));
    await Deno.rename(tmp, this.#file);
    return id;
  }
}

/** The labels of a labelsKey() text (values may contain "=", keys do not). */
function labelsFromKey(key: string): Record<string, string> {
  if (!key) return {};
  return Object.fromEntries(
    key.split(";").map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}

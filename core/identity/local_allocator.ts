// Node-local identity allocation for the local store (no cluster store): label set -> number,
// persisted in the node's state directory so identities survive restarts. With several nodes and
// no cluster store, numbers are only meaningful on the node that allocated them.
import { join } from "node:path";
import { damagedStateFiles, readStateFile, recordOf, writeStateFile } from "../state_files/mod.ts";
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

  /**
   * The allocator with the identities of earlier runs. A damaged file is reported and the
   * allocator starts empty: local endpoints get numbers for their label sets again when the
   * agent relabels them after the store's first sync (a number can change; a pod keeps its
   * network).
   */
  static async open(stateDir: string): Promise<LocalIdentityAllocator> {
    const a = new LocalIdentityAllocator(stateDir);
    const r = await readStateFile(a.#file, recordOf("an identity number", isAllocated));
    if (r.kind === "damaged") {
      damagedStateFiles.report(
        a.#file,
        r.problem,
        "started empty: local endpoints are given identities again after the store syncs",
      );
    }
    if (r.kind !== "ok") return a;
    for (const [key, id] of Object.entries(r.value)) {
      a.#byKey.set(key, id);
      a.#labels.set(id, labelsFromKey(key));
      a.#next = Math.max(a.#next, id + 1);
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
    await writeStateFile(this.#file, JSON.stringify(Object.fromEntries(this.#byKey)));
    return id;
  }
}

const isAllocated = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= FIRST_ALLOCATED_IDENTITY && (v as number) <= MAX_IDENTITY;

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

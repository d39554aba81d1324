// Identities in etcd: allocation without duplicates (compare-and-swap on both the label-set key
// and the number key) and garbage collection of identities no node references any more.
import { compare, type EtcdClient, op } from "../etcd/mod.ts";
import { labelsKey } from "../identity/labels.ts";
import { FIRST_ALLOCATED_IDENTITY, MAX_IDENTITY } from "../identity/local_allocator.ts";
import type { Logger } from "../plugin/plugin.ts";
import type { EtcdKeys } from "./etcd_keys.ts";

export async function sha256(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** An identity number in the cluster range, from its decimal text; undefined otherwise. */
function identityNumber(text: string): number | undefined {
  const n = /^[1-9][0-9]{0,8}$/.test(text) ? Number(text) : NaN;
  return n >= FIRST_ALLOCATED_IDENTITY && n <= MAX_IDENTITY ? n : undefined;
}

/** A stored label set, or undefined when the value is not one. */
function labelsOf(value: string): Record<string, string> | undefined {
  try {
    const v = JSON.parse(value);
    return v !== null && typeof v === "object" && !Array.isArray(v) &&
        Object.values(v).every((x) => typeof x === "string")
      ? v
      : undefined;
  } catch {
    return undefined;
  }
}

export class EtcdIdentities {
  /** labelsKey -> number, filled by allocation and by the identities watch. */
  readonly cache = new Map<string, number>();
  readonly #client: EtcdClient;
  readonly #keys: EtcdKeys;
  readonly #log: Logger;
  /** Identities seen unreferenced by the previous GC round (collected if still so). */
  #unreferenced = new Set<number>();

  constructor(client: EtcdClient, keys: EtcdKeys, log: Logger) {
    this.#client = client;
    this.#keys = keys;
    this.#log = log;
  }

  /** The number of a label set, allocated when new; throws EtcdError when etcd is unreachable. */
  async identityFor(labels: Record<string, string>): Promise<number> {
    const key = labelsKey(labels);
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const labelsPath = `${this.#keys.identityLabels}${await sha256(key)}`;
    const id = await (async () => {
      for (let attempt = 0; attempt < 64; attempt++) {
        const existing = await this.#client.get(labelsPath);
        if (existing) return await this.#indexed(labelsPath, existing.value, key);
        const ids = await this.#client.getPrefix(this.#keys.identityIds);
        const used = new Set<number>();
        let next = FIRST_ALLOCATED_IDENTITY;
        for (const kv of ids.kvs) {
          const n = identityNumber(kv.key.slice(this.#keys.identityIds.length));
          if (n === undefined) continue;
          used.add(n);
          next = Math.max(next, n + 1);
        }
        next += attempt; // contenders racing for the same number spread out
        if (next > MAX_IDENTITY) {
          // the top is taken (a record written at the end of the range): the lowest free one
          next = FIRST_ALLOCATED_IDENTITY + attempt;
          while (used.has(next) && next <= MAX_IDENTITY) next++;
        }
        if (next > MAX_IDENTITY) throw new Error("No identity left: all 2^24 numbers are in use");
        const idPath = `${this.#keys.identityIds}${next}`;
        const r = await this.#client.txn({
          compare: [
            compare.createRevision(labelsPath, "=", 0n),
            compare.createRevision(idPath, "=", 0n),
          ],
          success: [op.put(labelsPath, String(next)), op.put(idPath, JSON.stringify(labels))],
          failure: [],
        });
        if (r.succeeded) return next;
      }
      throw new Error(`Could not allocate an identity for ${key} after 64 attempts`);
    })();
    this.cache.set(key, id);
    return id;
  }
  /**
   * The number a label index entry holds, checked like any record (etcd_kinds.ts): a number in
   * the cluster range whose identity record carries these labels. Anything else is refused
   * rather than handed to a pod: another number would give it another workload's identity.
   */
  async #indexed(labelsPath: string, value: string, key: string): Promise<number> {
    const n = identityNumber(value);
    const record = n === undefined
      ? undefined
      : await this.#client.get(`${this.#keys.identityIds}${n}`);
    const labels = record ? labelsOf(record.value) : undefined;
    if (n !== undefined && labels && labelsKey(labels) === key) return n;
    throw new Error(
      `Identity label index ${labelsPath} holds ${JSON.stringify(value.slice(0, 60))}, which is ` +
        `not an identity with these labels (${key}): the store was edited around hypha; ` +
        "delete the key to allocate again",
    );
  }

  /**
   * One round of identity garbage collection: an identity that no node references (no refs
   * key, all of them leased) in two rounds in a row is deleted, labels and number together,
   * unless it changed in between. Any node may run it; the compare makes it safe to race.
   */
  async collect(): Promise<number[]> {
    const [ids, refs] = await Promise.all([
      this.#client.getPrefix(this.#keys.identityIds),
      this.#client.getPrefix(this.#keys.identityRefs),
    ]);
    const referenced = new Set(
      refs.kvs.map((kv) => Number(kv.key.slice(this.#keys.identityRefs.length).split("/")[0])),
    );
    const collected: number[] = [];
    const unreferenced = new Set<number>();
    for (const kv of ids.kvs) {
      const id = identityNumber(kv.key.slice(this.#keys.identityIds.length));
      const labels = labelsOf(kv.value);
      // a record that is no identity is reported by the watch and left to the operator
      if (id === undefined || labels === undefined || referenced.has(id)) continue;
      unreferenced.add(id);
      if (!this.#unreferenced.has(id)) continue;
      const labelsPath = `${this.#keys.identityLabels}${await sha256(labelsKey(labels))}`;
      const r = await this.#client.txn({
        // Unchanged since the listing; a node that took a reference since then is safe by the
        // two-round rule (allocation and reference are milliseconds apart, rounds are not).
        compare: [compare.modRevision(kv.key, "=", kv.modRevision)],
        success: [op.delete(kv.key), op.delete(labelsPath)],
        failure: [],
      });
      if (r.succeeded) {
        collected.push(id);
        unreferenced.delete(id);
        if (this.cache.get(labelsKey(labels)) === id) this.cache.delete(labelsKey(labels));
      }
    }
    this.#unreferenced = unreferenced;
    if (collected.length) this.#log.info("identities collected", { ids: collected.join(",") });
    return collected;
  }
}

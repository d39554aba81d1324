// Services and EndpointSlices in etcd: stored with their claims (etcd_keys.ts), and read back
// into the state tables like every other record (etcd_kinds.ts). A service put is one
// transaction: the service, every claim it newly takes (created only if absent), and the release
// of claims it no longer holds, guarded by the revisions read just before — two nodes applying
// at once cannot both take a cluster IP or a node port: one transaction fails, reads again, and
// sees the other's claim.
import {
  compare,
  type EtcdClient,
  type KeyValue,
  op,
  type TxnCompare,
  type TxnOp,
  type TxnOpResult,
} from "../etcd/mod.ts";
import type { Logger } from "../plugin/plugin.ts";
import { claimId, manifestClaims, type ServiceClaim, ServiceClaimError } from "../service/mod.ts";
import type { EtcdKeys } from "./etcd_keys.ts";

/** Reads and compare-and-swap rounds before a put under constant contention gives up. */
const MAX_ROUNDS = 10;

const kvOf = (r: TxnOpResult | undefined): KeyValue | undefined =>
  r && r.type === "get" ? r.kvs[0] : undefined;

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class EtcdServices {
  readonly #client: EtcdClient;
  readonly #keys: EtcdKeys;
  readonly #log: Logger;

  constructor(client: EtcdClient, keys: EtcdKeys, log: Logger) {
    this.#client = client;
    this.#keys = keys;
    this.#log = log;
  }

  async stored(key: string): Promise<unknown | undefined> {
    const kv = await this.#client.get(this.#keys.service(key));
    return kv ? json(kv.value) : undefined;
  }

  /** The service and its claims, atomically (see the file header); the store revision. */
  async put(key: string, manifest: unknown): Promise<bigint> {
    const svcKey = this.#keys.service(key);
    const wanted = manifestClaims(manifest);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const first = await this.#read([svcKey, ...wanted.map((c) => this.#keys.serviceClaim(c))]);
      const stored = first[0];
      const holders = first.slice(1);
      const wantedIds = new Set(wanted.map(claimId));
      const released = stored
        ? manifestClaims(json(stored.value)).filter((c) => !wantedIds.has(claimId(c)))
        : [];
      const others = [
        ...new Set(holders.flatMap((kv) => kv && kv.value !== key ? [kv.value] : [])),
      ];
      const second = await this.#read([
        ...released.map((c) => this.#keys.serviceClaim(c)),
        ...others.map((o) => this.#keys.service(o)),
      ]);
      const ownerAlive = new Map(
        others.map((o, i) => [o, second[released.length + i] !== undefined]),
      );
      const compares: TxnCompare[] = [
        stored
          ? compare.modRevision(svcKey, "=", stored.modRevision)
          : compare.createRevision(svcKey, "=", 0n),
      ];
      const ops: TxnOp[] = [op.put(svcKey, JSON.stringify(manifest))];
      const conflicts: Array<{ claim: ServiceClaim; holder: string }> = [];
      wanted.forEach((claim, i) => {
        const ck = this.#keys.serviceClaim(claim);
        const kv = holders[i];
        if (!kv) {
          compares.push(compare.createRevision(ck, "=", 0n));
          ops.push(op.put(ck, key));
        } else if (kv.value === key) {
          compares.push(compare.value(ck, "=", key));
        } else if (!ownerAlive.get(kv.value)) {
          // A claim whose service is gone (written by hand, or a store edited around hypha).
          this.#log.warn("taking over a claim whose service does not exist", {
            claim: ck,
            holder: kv.value,
            service: key,
          });
          compares.push(
            compare.value(ck, "=", kv.value),
            compare.createRevision(this.#keys.service(kv.value), "=", 0n),
          );
          ops.push(op.put(ck, key));
        } else conflicts.push({ claim, holder: kv.value });
      });
      if (conflicts.length) throw new ServiceClaimError(key, conflicts);
      released.forEach((claim, i) => {
        const ck = this.#keys.serviceClaim(claim);
        if (second[i]?.value !== key) return;
        compares.push(compare.value(ck, "=", key));
        ops.push(op.delete(ck));
      });
      const r = await this.#client.txn({ compare: compares, success: ops });
      if (r.succeeded) return r.revision;
    }
    throw new Error(
      `Storing service ${key}: other writers kept changing it or its claims (${MAX_ROUNDS} ` +
        "rounds); try again",
    );
  }

  /** Removes the service and the claims it holds; undefined when there was none. */
  async delete(key: string): Promise<bigint | undefined> {
    const svcKey = this.#keys.service(key);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const [stored] = await this.#read([svcKey]);
      if (!stored) return undefined;
      const claims = manifestClaims(json(stored.value));
      const holders = await this.#read(claims.map((c) => this.#keys.serviceClaim(c)));
      const compares = [compare.modRevision(svcKey, "=", stored.modRevision)];
      const ops = [op.delete(svcKey)];
      claims.forEach((claim, i) => {
        if (holders[i]?.value !== key) return;
        const ck = this.#keys.serviceClaim(claim);
        compares.push(compare.value(ck, "=", key));
        ops.push(op.delete(ck));
      });
      const r = await this.#client.txn({ compare: compares, success: ops });
      if (r.succeeded) return r.revision;
    }
    throw new Error(`Deleting service ${key}: other writers kept changing it; try again`);
  }

  async putSlice(key: string, manifest: unknown): Promise<bigint> {
    return (await this.#client.put(this.#keys.endpointSlice(key), JSON.stringify(manifest)))
      .revision;
  }

  async deleteSlice(key: string): Promise<bigint | undefined> {
    const r = await this.#client.delete(this.#keys.endpointSlice(key));
    return r.deleted ? r.revision : undefined;
  }

  /** Several keys at one revision (one read-only transaction). */
  async #read(keys: string[]): Promise<Array<KeyValue | undefined>> {
    if (keys.length === 0) return [];
    const r = await this.#client.txn({ success: keys.map((k) => op.get(k)) });
    return r.responses.map(kvOf);
  }
}

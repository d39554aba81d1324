// The local store's Services and EndpointSlices: the manifest directory's, plus those applied
// through the admin API (kept in the state directory, services.json, so they survive restarts),
// resolved into the state tables (core/service/resolve.ts: deterministic allocation for
// directory services that leave values out; rejected objects with their problems). Claims are
// checked against the tables synchronously before anything is awaited, so two API calls in
// flight never both take one value.
import { join } from "node:path";
import type { Logger } from "../plugin/plugin.ts";
import {
  claimId,
  manifestClaims,
  resolveServiceManifests,
  ServiceClaimError,
  type ServiceOptions,
  type SourcedManifest,
  usageOf,
} from "../service/mod.ts";
import type { State, Table } from "../state/mod.ts";
import {
  damagedStateFiles,
  readStateFile,
  recordOf,
  setAside,
  writeStateFile,
} from "../state_files/mod.ts";

type Kind = "services" | "endpointSlices";

const savedShape = recordOf(
  "an object of manifests",
  (v): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v),
);

interface Saved {
  services: Record<string, unknown>;
  endpointSlices: Record<string, unknown>;
}

export class LocalServices {
  readonly #state: State;
  readonly #options: ServiceOptions;
  readonly #file: string;
  readonly #log: Logger;
  readonly #applied: Record<Kind, Map<string, unknown>> = {
    services: new Map(),
    endpointSlices: new Map(),
  };
  #directory: SourcedManifest[] = [];
  /** The last resolution's service manifests, allocations written in. */
  #resolved = new Map<string, unknown>();

  constructor(o: { state: State; options: ServiceOptions; stateDir: string; log: Logger }) {
    this.#state = o.state;
    this.#options = o.options;
    this.#file = join(o.stateDir, "services.json");
    this.#log = o.log;
  }

  /** Reads what the API applied in earlier runs (a damaged file is set aside and reported). */
  async load(): Promise<void> {
    const r = await readStateFile(this.#file, savedShape);
    if (r.kind === "damaged") {
      const aside = await setAside(this.#file);
      damagedStateFiles.report(
        this.#file,
        r.problem,
        `services and EndpointSlices applied through the API are not restored: apply them again (the damaged file is kept as ${aside})`,
      );
    }
    if (r.kind !== "ok") return;
    const saved = r.value as Partial<Saved>;
    this.#applied.services = new Map(Object.entries(saved.services ?? {}));
    this.#applied.endpointSlices = new Map(Object.entries(saved.endpointSlices ?? {}));
  }

  /** The directory's Service and EndpointSlice documents changed (or were read first). */
  setDirectory(manifests: SourcedManifest[]): void {
    this.#directory = manifests;
  }

  /** Resolves everything into the tables; a row keeps its revision while it stays the same. */
  apply(revision: number): void {
    const applied = (kind: Kind) =>
      [...this.#applied[kind].values()].map((manifest) => ({ manifest, source: "admin API" }));
    const r = resolveServiceManifests(
      this.#directory,
      [...applied("services"), ...applied("endpointSlices")],
      this.#options,
    );
    this.#resolved = new Map([...r.services].map(([k, v]) => [k, v.manifest]));
    const { services, endpointSlices, rejected } = this.#state;
    sync(
      services,
      new Map([...r.services].map(([key, { service }]) => {
        const cur = services.get(key);
        const same = JSON.stringify(cur?.service) === JSON.stringify(service);
        return [key, { service, revision: same ? cur!.revision : revision }];
      })),
    );
    sync(
      endpointSlices,
      new Map([...r.slices].map(([key, slice]) => {
        const cur = endpointSlices.get(key);
        const same = JSON.stringify(cur?.slice) === JSON.stringify(slice);
        return [key, { slice, revision: same ? cur!.revision : revision }];
      })),
    );
    for (const [key, rej] of r.rejected) {
      if (JSON.stringify(rejected.get(key)) === JSON.stringify(rej)) continue;
      this.#log.warn(`${rej.kind} rejected; it is not programmed`, {
        object: `${rej.namespace}/${rej.name}`,
        source: rej.source,
        issues: rej.issues.map((i) => `${i.path}: ${i.message}`).join("; "),
      });
    }
    // the rejected table is shared: only services and slices are this source's
    for (const [k, v] of r.rejected) rejected.upsertChanged(k, v);
    for (const [k, row] of rejected.entries()) {
      if ((row.kind === "Service" || row.kind === "EndpointSlice") && !r.rejected.has(k)) {
        rejected.delete(k);
      }
    }
  }

  stored(key: string): unknown | undefined {
    return this.#applied.services.get(key) ?? this.#resolved.get(key);
  }

  /**
   * Stores an applied object and resolves again (`resolve`, synchronous) before persisting, so
   * the tables hold it before the next call can look; a failed write takes it back out.
   */
  async put(kind: Kind, key: string, manifest: unknown, resolve: () => void): Promise<void> {
    if (kind === "services") {
      const usage = usageOf(this.#state.services.list().map((r) => r.service));
      const conflicts = manifestClaims(manifest).flatMap((claim) => {
        const holder = usage.get(claimId(claim));
        return holder !== undefined && holder !== key ? [{ claim, holder }] : [];
      });
      if (conflicts.length) throw new ServiceClaimError(key, conflicts);
    }
    const before = this.#applied[kind].get(key);
    this.#applied[kind].set(key, manifest);
    resolve();
    try {
      await this.#save();
    } catch (err) {
      if (before === undefined) this.#applied[kind].delete(key);
      else this.#applied[kind].set(key, before);
      resolve();
      throw err;
    }
  }

  /** false when the API never applied it (a directory object stays until its file changes). */
  async delete(kind: Kind, key: string, resolve: () => void): Promise<boolean> {
    if (!this.#applied[kind].delete(key)) return false;
    resolve();
    await this.#save();
    return true;
  }

  async #save(): Promise<void> {
    const saved: Saved = {
      services: Object.fromEntries(this.#applied.services),
      endpointSlices: Object.fromEntries(this.#applied.endpointSlices),
    };
    await writeStateFile(this.#file, JSON.stringify(saved));
  }
}

/** Makes a table hold exactly `rows` (writing only what changed). */
function sync<T>(table: Table<T>, rows: Map<string, T>): void {
  for (const [k, v] of rows) table.upsertChanged(k, v);
  for (const [k] of table.entries()) if (!rows.has(k)) table.delete(k);
}

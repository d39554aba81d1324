// Local endpoints on disk: one JSON file per endpoint in `<stateDir>/endpoints/`, written
// atomically, so a restarted agent knows every pod it wired and can re-adopt or clean it.
import { join } from "node:path";
import type { EndpointRecord } from "../state/mod.ts";

/** A local endpoint: the cluster-visible record plus how it is wired on this node. */
export interface LocalEndpoint extends EndpointRecord {
  /** Labels the CNI call gave (the cluster store's labels for the pod win over them). */
  cniLabels?: Record<string, string>;
  serviceAccount?: string;
  netns: string;
  hostIfname: string;
  hostMac: string;
  podMac: string;
  mtu: number;
  createdAt: string;
}

export class EndpointFiles {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "endpoints");
  }

  async loadAll(): Promise<{ endpoints: LocalEndpoint[]; errors: string[] }> {
    const endpoints: LocalEndpoint[] = [];
    const errors: string[] = [];
    await Deno.mkdir(this.dir, { recursive: true });
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const path = join(this.dir, e.name);
      try {
        endpoints.push(JSON.parse(await Deno.readTextFile(path)) as LocalEndpoint);
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
      }
    }
    return { endpoints: endpoints.sort((a, b) => a.id - b.id), errors };
  }

  async save(ep: LocalEndpoint): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    const path = join(this.dir, `${ep.id}.json`);
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(ep, null, 2));
    await Deno.rename(`${path}.tmp`, path);
  }

  async remove(id: number): Promise<void> {
    try {
      await Deno.remove(join(this.dir, `${id}.json`));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
}

// Local endpoints on disk: one JSON file per endpoint in `<stateDir>/endpoints/`, written
// durably (core/state_files), so a restarted agent knows every pod it wired and can re-adopt or
// clean it. A file that exists holds a completed ADD; a damaged one is handed back by id for the
// restore to rebuild from the kernel, never taken as "no such pod".
import { join } from "node:path";
import type { EndpointRecord } from "../state/mod.ts";
import { readStateFile, removeStateFile, writeStateFile } from "../state_files/mod.ts";
import { parseEndpointFile } from "./endpoint_file.ts";

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
  /** Set when the file was damaged and the endpoint rebuilt from the kernel (what was lost). */
  rebuiltAt?: string;
}

export interface DamagedEndpointFile {
  /** The endpoint id from the file name; undefined when the name is not `<id>.json`. */
  id: number | undefined;
  path: string;
  problem: string;
}

const FILE_NAME = /^([1-9][0-9]{0,4})\.json$/;

export class EndpointFiles {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "endpoints");
  }

  pathOf(id: number): string {
    return join(this.dir, `${id}.json`);
  }

  async loadAll(): Promise<{ endpoints: LocalEndpoint[]; damaged: DamagedEndpointFile[] }> {
    const endpoints: LocalEndpoint[] = [];
    const damaged: DamagedEndpointFile[] = [];
    await Deno.mkdir(this.dir, { recursive: true });
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const path = join(this.dir, e.name);
      const m = FILE_NAME.exec(e.name);
      if (!m) {
        damaged.push({ id: undefined, path, problem: "the name is not <endpoint id>.json" });
        continue;
      }
      const id = Number(m[1]);
      const r = await readStateFile(path, (json) => parseEndpointFile(json, id));
      if (r.kind === "ok") endpoints.push(r.value);
      else if (r.kind === "damaged") damaged.push({ id, path, problem: r.problem });
    }
    return { endpoints: endpoints.sort((a, b) => a.id - b.id), damaged };
  }

  async save(ep: LocalEndpoint): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    await writeStateFile(this.pathOf(ep.id), JSON.stringify(ep, null, 2));
  }

  async remove(id: number): Promise<void> {
    await removeStateFile(this.pathOf(id));
  }
}

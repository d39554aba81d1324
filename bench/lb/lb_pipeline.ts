// The load balancer's control plane in this process, stage by stage, for N services (2 backends
// each): parsing the manifest file (a JSON List; the same documents as YAML for comparison) and
// resolving it (validation, claims, allocation: core/service resolveServiceManifests), as the
// local store does on a directory change; the frontends the plugin computes
// (plugins/lb/frontends.ts); and the map writes (plugins/lb/writer.ts LbWriter) into
// real kernel maps created from bpf/build/bpf_lb.o and pinned in a throwaway bpffs. The write
// stage alone is what Cilium's "50,000 services into the LB maps in ~0.7 s" compares to. No
// program is attached anywhere; the maps go with the bpffs.
import { join } from "node:path";
import { DEFAULT_SERVICE_OPTIONS, resolveServiceManifests } from "../../core/service/mod.ts";
import { parseManifests } from "../../core/store/manifests.ts";
import type { PluginDatapath } from "../../core/plugin/mod.ts";
import { run } from "../../tests/lab/netns.ts";
import { LbDatapath } from "../../plugins/lb/datapath.ts";
import { computeFrontends } from "../../plugins/lb/frontends.ts";
import { LbWriter } from "../../plugins/lb/writer.ts";
import { baselineServices } from "./baseline_node.ts";
import type { BaselineService } from "./baseline_service.ts";
import { serviceDocuments, serviceManifests, serviceManifestsYaml } from "./hypha_services.ts";

export interface PipelineTimes {
  services: number;
  /** The manifest file as a JSON List to documents (the local store's .json path). */
  jsonMs: number;
  /** The same documents as a YAML file; null: skipped (above maxYaml). */
  yamlMs: number | null;
  /** resolveServiceManifests(): validation, claims, allocation of the whole directory. */
  resolveMs: number;
  /** Services and slices to frontends. */
  computeMs: number;
  /** Cold write into empty maps (what the writer reports as `ms`). */
  writeMs: number;
  /** The same frontends again: diff against the mirror, nothing written. */
  unchangedMs: number;
  /** One backend of one service replaced: resolve and compute again, then the write. */
  changeResolveMs: number;
  changeComputeMs: number;
  changeWriteMs: number;
  /** Writes of the one-backend change (frontends, slots, backends added/updated/removed). */
  changeWrites: number;
  frontends: number;
}

/** `count` services over `count` distinct backends (service i: backends i and i+1). */
export function controlPlaneServices(count: number, port = 7100): BaselineService[] {
  const backends = Array.from({ length: count + 1 }, (_, i) => ({
    ip: `10.${128 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
    port,
  }));
  return baselineServices(count, backends);
}

/** A PluginDatapath whose pins live under `bpffs`; nothing is attached (setHook is a no-op). */
function throwawayDatapath(bpffs: string): PluginDatapath {
  return {
    sharedMapsDir: join(bpffs, "shared"),
    pinDir: join(bpffs, "lb"),
    stateDir: bpffs,
    devices: [],
    cgroupRoot: "",
    routing: "native",
    attachMode: "auto",
    setHook: () => false,
  };
}

/** Documents resolved as the local store does, then the frontends of this node. */
function frontendsOf(docs: unknown[]) {
  let t = performance.now();
  const resolved = resolveServiceManifests(
    docs.map((manifest, i) => ({ manifest, source: `bench.json document ${i + 1}` })),
    [],
    DEFAULT_SERVICE_OPTIONS,
  );
  const resolveMs = performance.now() - t;
  if (resolved.rejected.size) {
    const [first] = resolved.rejected.values();
    throw new Error(`${resolved.rejected.size} objects rejected, e.g. ${JSON.stringify(first)}`);
  }
  t = performance.now();
  const { frontends } = computeFrontends({
    node: "bench",
    nodeAddresses: [],
    services: [...resolved.services.values()].map((s) => s.service),
    slices: [...resolved.slices.values()],
    endpoints: [],
    defaultAlgorithm: "random",
  });
  return { frontends, resolveMs, computeMs: performance.now() - t };
}

/** Milliseconds parseManifests() takes for `text` as file `file`; the documents. */
function parse(text: string, file: string): { ms: number; docs: unknown[] } {
  const t = performance.now();
  const docs = parseManifests(text, file).map((m) => m.document);
  return { ms: performance.now() - t, docs };
}

/**
 * Runs every stage for `count` services against fresh maps in a throwaway bpffs; the YAML parse
 * only up to `maxYaml` services (the YAML parser takes ~0.3 ms per document).
 */
export async function pipelineTimes(count: number, maxYaml: number): Promise<PipelineTimes> {
  const services = controlPlaneServices(count);
  const json = parse(serviceManifests(services), "bench.json");
  const yaml = count <= maxYaml ? parse(serviceManifestsYaml(services), "bench.yaml") : undefined;
  const first = frontendsOf(json.docs);
  const dir = await Deno.makeTempDir({ prefix: "hypha-lb-bench-bpffs-" });
  await run(["mount", "-t", "bpf", "bpf", dir]);
  let dp: LbDatapath | undefined;
  try {
    dp = LbDatapath.load(throwawayDatapath(dir));
    const writer = new LbWriter(dp.maps, { maglevM: 16381, seed: "bench", dsr: false });
    const cold = writer.apply(first.frontends);
    const errors = [cold.frontends, cold.slots, cold.backends].flatMap((r) => r.errors);
    if (errors.length || cold.problems.length) {
      throw new Error(
        `Writing ${count} services: ${JSON.stringify([...errors, ...cold.problems][0])}`,
      );
    }
    const same = writer.apply(first.frontends);
    // one backend of the middle service moves to a new address
    const middle = Math.floor(count / 2);
    const changed = services.map((s, i) =>
      i === middle ? { ...s, endpoints: [s.endpoints[0]!, { ip: "10.127.0.1", port: 7100 }] } : s
    );
    const next = frontendsOf(serviceDocuments(changed));
    const change = writer.apply(next.frontends);
    const writes = (r: { added: number; updated: number; removed: number }) =>
      r.added + r.updated + r.removed;
    return {
      services: count,
      jsonMs: json.ms,
      yamlMs: yaml?.ms ?? null,
      resolveMs: first.resolveMs,
      computeMs: first.computeMs,
      writeMs: cold.ms,
      unchangedMs: same.ms,
      changeResolveMs: next.resolveMs,
      changeComputeMs: next.computeMs,
      changeWriteMs: change.ms,
      changeWrites: writes(change.slots) + writes(change.backends) + writes(change.frontends),
      frontends: first.frontends.length,
    };
  } finally {
    dp?.close();
    await run(["umount", dir], { allowFail: true });
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

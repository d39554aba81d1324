// Every conformance case (tests/conformance/cases) in one 2-node lab with etcd: real agents,
// real datapath, real probes. One test step per case, so a failure names the case and the
// cells that differ.
import { join } from "node:path";
import assert from "node:assert/strict";
import { sctpUnsupported } from "../lab/rr.ts";
import { LabCluster } from "./lab_cluster.ts";
import { formatDetails } from "./report.ts";
import { findCaseFiles, runCases } from "./runner.ts";

Deno.test("conformance: every case passes in a 2-node lab", async (t) => {
  const files = await findCaseFiles([join(import.meta.dirname!, "cases")]);
  await using cluster = await LabCluster.create({ nodes: 2 });
  await t.step("SCTP cells are skipped on the kernel's word only", async () => {
    // undefined on a kernel with SCTP (the SCTP cells then run), else the kernel's own error
    const why = cluster.unsupported({ protocol: "SCTP", port: 80 });
    assert.equal(why, await sctpUnsupported(cluster.lab.external.ns));
    assert.equal(cluster.unsupported({ protocol: "TCP", port: 80 }), undefined);
  });
  for (const file of files) {
    const name = file.slice(file.lastIndexOf("/") + 1).replace(/\.ya?ml$/, "");
    await t.step(name, async () => {
      const [result] = await runCases(cluster, [file]);
      if (!result || result.status !== "pass") {
        throw new Error(
          `${name}: ${result?.status ?? "not run"}\n${
            result ? formatDetails(result).join("\n") : ""
          }`,
        );
      }
    });
  }
});

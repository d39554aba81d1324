// Rejected records as `hypha status` and `hypha node list` print them: one line per problem,
// naming the record, where it came from, the field and the reason.
import type { RejectedRecordRow } from "../api/backend.ts";

/** `Node evil (/hypha/c/nodes/evil): podCIDRs[0]: Pod CIDR "0.0.0.0/0" is ...`, one per issue. */
export function rejectedLines(rows: RejectedRecordRow[]): string[] {
  return rows.flatMap((r) => {
    const name = r.namespace ? `${r.namespace}/${r.name}` : r.name;
    const kept = r.keeping ? " [its last accepted version stays in force]" : "";
    return r.issues.map((i) =>
      `${r.kind} ${JSON.stringify(name)} (${r.source})${kept}: ${
        i.path || "(record)"
      }: ${i.message}`
    );
  });
}

/** The section under a table or status: nothing when every record was accepted. */
export function rejectedSection(rows: RejectedRecordRow[]): string {
  if (!rows.length) return "";
  return [
    "",
    `Rejected records (${rows.length}), not used until fixed or removed:`,
    ...rejectedLines(rows).map((l) => `  ${l}`),
  ].join("\n");
}

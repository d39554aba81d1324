// Human tables: aligned columns, a header row, nothing else.
export function renderTable(
  header: string[],
  rows: Array<Array<string | number | boolean>>,
): string {
  const cells = rows.map((r) => r.map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [line(header), ...cells.map(line)].join("\n");
}

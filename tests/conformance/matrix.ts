// Reachability matrices: rows are clients, columns are servers, cells are "." (reachable), "X"
// (blocked) or "-" (not probed). The header row starts with a corner cell (conventionally "."):
//
//   .    x/a x/b
//   x/a  -   .
//   x/b  X   -
import { type Fields, show } from "./_fields.ts";

export type Cell = "." | "X" | "-";

export interface Matrix {
  rows: string[];
  cols: string[];
  /** cells[row][col], in the order written. */
  cells: Cell[][];
}

/** Who may appear in a matrix: every pod must (as row and column), externals may. */
export interface Participants {
  pods: readonly string[];
  externals: readonly string[];
}

export interface ExpectedCell {
  from: string;
  to: string;
  expected: "." | "X";
}

const CELLS: readonly string[] = [".", "X", "-"];

export function parseMatrix(text: unknown, who: Participants, f: Fields, field: string): Matrix {
  if (typeof text !== "string") {
    f.fail(field, `must be a matrix written as text, got ${show(text)}`);
  }
  const lines = text.split("\n").map((line, i) => ({ n: i + 1, tokens: line.trim().split(/\s+/) }))
    .filter((l) => l.tokens[0] !== "" && !l.tokens[0]!.startsWith("#"));
  const known = new Set([...who.pods, ...who.externals]);
  const check = (key: string, n: number) => {
    if (!known.has(key)) {
      f.fail(
        field,
        `line ${n}: unknown pod or external "${key}" (pods: ${who.pods.join(", ")}${
          who.externals.length ? `; externals: ${who.externals.join(", ")}` : ""
        })`,
      );
    }
  };
  const header = lines[0];
  if (!header) f.fail(field, "is empty: write a header row and one row per pod");
  const [corner, ...cols] = header.tokens;
  if (corner!.includes("/")) {
    f.fail(
      field,
      `line ${header.n}: the header row starts with a corner cell such as "." before the column names`,
    );
  }
  if (cols.length === 0) f.fail(field, `line ${header.n}: the header row names no columns`);
  cols.forEach((c) => check(c, header.n));
  duplicates(cols, (c) => f.fail(field, `line ${header.n}: column "${c}" appears twice`));
  const rows: string[] = [];
  const cells: Cell[][] = [];
  for (const line of lines.slice(1)) {
    const [row, ...values] = line.tokens;
    check(row!, line.n);
    if (rows.includes(row!)) f.fail(field, `line ${line.n}: row "${row}" appears twice`);
    if (values.length !== cols.length) {
      f.fail(
        field,
        `line ${line.n}: row "${row}" has ${values.length} cells, the header has ${cols.length} columns`,
      );
    }
    values.forEach((v, i) => {
      if (!CELLS.includes(v)) {
        f.fail(field, `line ${line.n}: cell "${v}" (${row} -> ${cols[i]}) must be ".", "X" or "-"`);
      }
      const to = cols[i]!;
      if (v !== "-" && to === row) {
        f.fail(
          field,
          `line ${line.n}: ${row} -> ${to}: a pod's traffic to itself never leaves the pod; write "-"`,
        );
      }
      if (v !== "-" && who.externals.includes(row!) && who.externals.includes(to)) {
        f.fail(
          field,
          `line ${line.n}: ${row} -> ${to}: traffic between externals is not probed; write "-"`,
        );
      }
    });
    rows.push(row!);
    cells.push(values as Cell[]);
  }
  for (const pod of who.pods) {
    if (!cols.includes(pod)) f.fail(field, `pod "${pod}" has no column (every pod must appear)`);
    if (!rows.includes(pod)) f.fail(field, `pod "${pod}" has no row (every pod must appear)`);
  }
  return { rows, cols, cells };
}

function duplicates(keys: string[], onDuplicate: (key: string) => void): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) onDuplicate(k);
    seen.add(k);
  }
}

/** The cells to probe (every cell but "-"), row by row. */
export function expectedCells(m: Matrix): ExpectedCell[] {
  const out: ExpectedCell[] = [];
  m.rows.forEach((from, r) =>
    m.cols.forEach((to, c) => {
      const expected = m.cells[r]![c]!;
      if (expected !== "-") out.push({ from, to, expected });
    })
  );
  return out;
}

/** Renders a matrix with aligned columns; `cell` gives each cell's text. */
export function renderMatrix(
  rows: readonly string[],
  cols: readonly string[],
  cell: (from: string, to: string) => string,
): string {
  const table = [[".", ...cols], ...rows.map((r) => [r, ...cols.map((c) => cell(r, c))])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table.map((row) => row.map((v, i) => v.padEnd(widths[i]!)).join(" ").trimEnd()).join(
    "\n",
  );
}

import assert from "node:assert/strict";
import { layoutMap, type Rect, spreadLabels } from "./layout.js";
import type { Graph, GraphNode } from "./model.js";

function node(namespace: string, name: string): GraphNode {
  return {
    key: namespace ? `${namespace}/${name}` : name,
    namespace,
    name,
    ports: [],
    verdict: "FORWARDED",
    flows: 1,
  };
}

const GRAPH: Graph = {
  groups: [
    { namespace: "a", nodes: [node("a", "x"), node("a", "y"), node("a", "z")] },
    { namespace: "b", nodes: [node("b", "x")] },
    { namespace: "c", nodes: [node("c", "x")] },
    { namespace: "", nodes: [node("", "world")] },
  ],
  edges: [
    {
      key: "a/x->b/x",
      from: "a/x",
      to: "b/x",
      count: 1,
      verdict: "FORWARDED",
      verdicts: {},
      dropReasons: {},
      ports: [],
    },
    {
      key: "b/x->a/x",
      from: "b/x",
      to: "a/x",
      count: 1,
      verdict: "DROPPED",
      verdicts: {},
      dropReasons: {},
      ports: [],
    },
    {
      key: "a/x->a/z",
      from: "a/x",
      to: "a/z",
      count: 1,
      verdict: "FORWARDED",
      verdicts: {},
      dropReasons: {},
      ports: [],
    },
    {
      key: "a/z->a/x",
      from: "a/z",
      to: "a/x",
      count: 1,
      verdict: "FORWARDED",
      verdicts: {},
      dropReasons: {},
      ports: [],
    },
    {
      key: "a/y->a/y",
      from: "a/y",
      to: "a/y",
      count: 1,
      verdict: "FORWARDED",
      verdicts: {},
      dropReasons: {},
      ports: [],
    },
  ],
};

function overlap(p: Rect, q: Rect) {
  return p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h;
}

Deno.test("layoutMap() places every node inside its namespace box, without overlaps", () => {
  for (const width of [300, 900, 2000]) {
    const l = layoutMap(GRAPH, width);
    const rects = [...l.nodes.values()];
    assert.equal(rects.length, 6);
    for (const [i, p] of rects.entries()) {
      for (const q of rects.slice(i + 1)) {
        assert.ok(!overlap(p, q), `nodes overlap at width ${width}`);
      }
      assert.ok(p.x + p.w <= l.width && p.y + p.h <= l.height);
    }
    for (const g of GRAPH.groups) {
      const box = l.boxes.find((b) => b.namespace === g.namespace)!;
      for (const n of g.nodes) {
        const r = l.nodes.get(n.key)!;
        assert.ok(
          r.x >= box.x && r.x + r.w <= box.x + box.w && r.y >= box.y && r.y + r.h <= box.y + box.h,
        );
      }
    }
  }
  assert.equal(
    layoutMap(GRAPH, 300).boxes.filter((b) => b.y === 24).length,
    1,
    "narrow: one column",
  );
  assert.equal(layoutMap(GRAPH, 2000).boxes.filter((b) => b.y === 24).length, 4, "wide: one row");
});

Deno.test("layoutMap() draws A->B and B->A apart, and a self edge as a loop", () => {
  const l = layoutMap(GRAPH, 2000);
  const ab = l.edges.get("a/x->b/x")!;
  const ba = l.edges.get("b/x->a/x")!;
  assert.notEqual(ab.labelY, ba.labelY);
  // In one column, around the node between them: down on the right, up on the left.
  const column = l.nodes.get("a/y")!;
  assert.ok(l.edges.get("a/x->a/z")!.labelX > column.x + column.w);
  assert.ok(l.edges.get("a/z->a/x")!.labelX < column.x);
  assert.match(l.edges.get("a/y->a/y")!.d, / C/);
});

Deno.test("spreadLabels() moves overlapping labels apart, leaving the others", () => {
  const labels = [
    { x: 0, y: 0, w: 50, h: 20 },
    { x: 10, y: 5, w: 50, h: 20 },
    { x: 200, y: 5, w: 50, h: 20 },
  ];
  spreadLabels(labels);
  assert.deepEqual(labels.map((l) => l.y), [0, 22, 5]);
});

// @ts-check
// Where the service map draws things (pure geometry, no DOM): namespaces as boxes in a grid that
// fits the given width, each box a column of workload nodes; edges as curves between node
// borders, bent to the right of their direction so A->B and B->A do not overlap. Edges between
// nodes of one column arc around the nodes between them: downwards on the right, upwards on the
// left.

/** @typedef {import("./model.js").Graph} Graph */

/** @typedef {{ x: number, y: number, w: number, h: number }} Rect */
/** @typedef {Rect & { namespace: string, label: string }} BoxLayout */
/** @typedef {{ key: string, d: string, labelX: number, labelY: number }} EdgeLayout */
/**
 * @typedef {object} MapLayout
 * @property {number} width
 * @property {number} height
 * @property {BoxLayout[]} boxes
 * @property {Map<string, Rect>} nodes by node key
 * @property {Map<string, EdgeLayout>} edges by edge key
 */

export const NODE_W = 180;
export const NODE_H = 48;
const NODE_GAP = 26;
const BOX_PAD = 18;
const BOX_HEAD = 30;
const BOX_GAP_X = 110; // room for edges between columns
const BOX_GAP_Y = 60;
const MARGIN = 24;
const BOX_W = NODE_W + 2 * BOX_PAD;

/** The group label of endpoints outside namespaces. */
const OUTSIDE_LABEL = "outside namespaces";

/**
 * @param {Graph} graph
 * @param {number} width the width available, in CSS pixels
 * @returns {MapLayout}
 */
export function layoutMap(graph, width) {
  const columns = Math.max(
    1,
    Math.min(
      graph.groups.length,
      Math.floor((width - 2 * MARGIN + BOX_GAP_X) / (BOX_W + BOX_GAP_X)),
    ),
  );
  /** @type {BoxLayout[]} */
  const boxes = [];
  /** @type {Map<string, Rect>} */
  const nodes = new Map();
  let y = MARGIN;
  for (let row = 0; row * columns < graph.groups.length; row++) {
    const groups = graph.groups.slice(row * columns, (row + 1) * columns);
    const rowH = Math.max(...groups.map((g) => boxHeight(g.nodes.length)));
    groups.forEach((g, col) => {
      const x = MARGIN + col * (BOX_W + BOX_GAP_X);
      boxes.push({
        namespace: g.namespace,
        label: g.namespace || OUTSIDE_LABEL,
        x,
        y,
        w: BOX_W,
        h: boxHeight(g.nodes.length),
      });
      g.nodes.forEach((n, i) => {
        nodes.set(n.key, {
          x: x + BOX_PAD,
          y: y + BOX_HEAD + BOX_PAD + i * (NODE_H + NODE_GAP),
          w: NODE_W,
          h: NODE_H,
        });
      });
    });
    y += rowH + BOX_GAP_Y;
  }
  /** @type {Map<string, EdgeLayout>} */
  const edges = new Map();
  for (const e of graph.edges) {
    const a = nodes.get(e.from);
    const b = nodes.get(e.to);
    if (!a || !b) continue;
    const geo = a === b ? loop(a) : a.x === b.x ? arc(a, b) : curve(a, b);
    edges.set(e.key, { key: e.key, ...geo });
  }
  const boxRight = Math.max(0, ...boxes.map((b) => b.x + b.w));
  return {
    width: Math.max(width, boxRight + MARGIN + 60),
    height: Math.max(y - BOX_GAP_Y + MARGIN, 120),
    boxes,
    nodes,
    edges,
  };
}

/** @param {number} count */
function boxHeight(count) {
  return BOX_HEAD + 2 * BOX_PAD + count * NODE_H + Math.max(0, count - 1) * NODE_GAP;
}

/** @param {Rect} r */
function center(r) {
  return { x: r.x + r.w / 2, y: r.y + r.h / 2 };
}

/**
 * Where the ray from the centre of `r` towards (dx, dy) leaves the rectangle.
 * @param {Rect} r @param {number} dx @param {number} dy
 */
function border(r, dx, dy) {
  const c = center(r);
  const s = Math.min(
    dx ? r.w / 2 / Math.abs(dx) : Infinity,
    dy ? r.h / 2 / Math.abs(dy) : Infinity,
  );
  return { x: c.x + dx * s, y: c.y + dy * s };
}

/** @param {Rect} a @param {Rect} b */
function curve(a, b) {
  const ca = center(a);
  const cb = center(b);
  const dx = cb.x - ca.x;
  const dy = cb.y - ca.y;
  const len = Math.hypot(dx, dy) || 1;
  // Control point: off the midpoint, to the right of the direction of travel.
  const bend = Math.min(60, len * 0.2);
  const cx = (ca.x + cb.x) / 2 - (dy / len) * bend;
  const cy = (ca.y + cb.y) / 2 + (dx / len) * bend;
  const p0 = border(a, cx - ca.x, cy - ca.y);
  const p1 = border(b, cx - cb.x, cy - cb.y);
  return {
    d: `M${r1(p0.x)},${r1(p0.y)} Q${r1(cx)},${r1(cy)} ${r1(p1.x)},${r1(p1.y)}`,
    // The midpoint of a quadratic Bézier curve.
    labelX: r1(0.25 * p0.x + 0.5 * cx + 0.25 * p1.x),
    labelY: r1(0.25 * p0.y + 0.5 * cy + 0.25 * p1.y),
  };
}

/** Between nodes of one column, out of the column's side and back. @param {Rect} a @param {Rect} b */
function arc(a, b) {
  const down = b.y > a.y;
  const x = down ? a.x + a.w : a.x;
  const out = (down ? 1 : -1) * Math.min(BOX_PAD + 36, 24 + Math.abs(b.y - a.y) / 6);
  const y0 = a.y + a.h / 2;
  const y1 = b.y + b.h / 2;
  return {
    d: `M${x},${r1(y0)} C${r1(x + out)},${r1(y0)} ${r1(x + out)},${r1(y1)} ${x},${r1(y1)}`,
    // The midpoint of this cubic Bézier curve: 3/4 of the way out, half way along.
    labelX: r1(x + 0.75 * out),
    labelY: r1((y0 + y1) / 2),
  };
}

/** A workload talking to itself: a loop out of its right side. @param {Rect} r */
function loop(r) {
  const x = r.x + r.w;
  return {
    d: `M${x},${r.y + r.h * 0.3} C${x + 50},${r.y - 12} ${x + 50},${r.y + r.h + 12} ${x},${
      r.y + r.h * 0.7
    }`,
    labelX: x + 40,
    labelY: r.y + r.h / 2,
  };
}

/** @param {number} n */
function r1(n) {
  return Math.round(n * 10) / 10;
}

/**
 * Moves labels down until none overlaps another (greedy, top to bottom): edge labels of nearby
 * curves would otherwise hide each other. Mutates and returns `labels`.
 * @template {Rect} T
 * @param {T[]} labels
 * @returns {T[]}
 */
export function spreadLabels(labels) {
  /** @type {T[]} */
  const placed = [];
  for (const l of [...labels].sort((a, b) => a.y - b.y || a.x - b.x)) {
    for (let moved = true; moved;) {
      moved = false;
      for (const p of placed) {
        if (l.x < p.x + p.w && p.x < l.x + l.w && l.y < p.y + p.h && p.y < l.y + l.h) {
          l.y = p.y + p.h + 2;
          moved = true;
        }
      }
    }
    placed.push(l);
  }
  return labels;
}

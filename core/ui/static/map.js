// @ts-check
/// <reference lib="dom" />
// Draws the service map into an <svg>: namespace boxes, workload nodes, and edges coloured by
// their worst verdict (dropped red and dashed, audit amber, forwarded green) with their counts.
// Tests address nodes as `data-testid="workload:<key>"` and edges as `edge:<from>-><to>` with
// `data-verdict`; every node and edge has a <title> (hover) with the details.
import { NODE_H, NODE_W, spreadLabels } from "./layout.js";
import { verdictClass } from "./model.js";

/** @typedef {import("./model.js").Graph} Graph */
/** @typedef {import("./model.js").GraphEdge} GraphEdge */
/** @typedef {import("./layout.js").MapLayout} MapLayout */

const SVG = "http://www.w3.org/2000/svg";
const MARKERS = ["forwarded", "dropped", "audit", "other"];

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {(Element | string)[]} children
 */
function el(tag, attrs = {}, children = []) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

/** @param {string} text */
function title(text) {
  return el("title", {}, [text]);
}

/**
 * Replaces the content of `svg` with the map of `graph`.
 * @param {SVGSVGElement} svg
 * @param {Graph} graph
 * @param {MapLayout} layout
 */
export function renderMap(svg, graph, layout) {
  svg.setAttribute("viewBox", `0 0 ${layout.width} ${layout.height}`);
  svg.setAttribute("width", String(layout.width));
  svg.setAttribute("height", String(layout.height));
  const defs = el(
    "defs",
    {},
    MARKERS.map((m) =>
      el("marker", {
        id: `arrow-${m}`,
        class: `arrow arrow--${m}`,
        viewBox: "0 0 10 10",
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto-start-reverse",
      }, [el("path", { d: "M0,0 L10,5 L0,10 z" })])
    ),
  );
  const boxes = el(
    "g",
    { class: "boxes" },
    layout.boxes.map((b) =>
      el("g", {
        class: b.namespace ? "namespace" : "namespace namespace--outside",
        "data-testid": `namespace:${b.namespace}`,
      }, [
        el("rect", { x: b.x, y: b.y, width: b.w, height: b.h, rx: 10 }),
        el("text", { class: "namespace__label", x: b.x + 12, y: b.y + 20 }, [b.label]),
      ])
    ),
  );
  const edges = el("g", { class: "edges" });
  /** @type {{ x: number, y: number, w: number, h: number, edge: GraphEdge, text: string }[]} */
  const tags = [];
  for (const e of graph.edges) {
    const geo = layout.edges.get(e.key);
    if (!geo) continue;
    const cls = verdictClass(e.verdict);
    edges.append(el("g", {
      class: `edge edge--${cls}`,
      "data-testid": `edge:${e.key}`,
      "data-verdict": e.verdict,
      "data-count": e.count,
    }, [
      title(edgeTitle(e)),
      el("path", { class: "edge__hit", d: geo.d }),
      el("path", { class: "edge__line", d: geo.d, "marker-end": `url(#arrow-${cls})` }),
    ]));
    const drops = e.verdicts.DROPPED ?? 0;
    const text = drops ? `${e.count} · ${drops} dropped` : String(e.count);
    const w = text.length * 7.2 + 12; // 11px bold DejaVu Sans: ~7 px a character
    tags.push({ x: geo.labelX - w / 2, y: geo.labelY - 10, w, h: 20, edge: e, text });
  }
  const labels = el(
    "g",
    { class: "edge-labels" },
    spreadLabels(tags).map((t) =>
      el("g", { class: `edge-label edge-label--${verdictClass(t.edge.verdict)}` }, [
        title(edgeTitle(t.edge)),
        el("rect", { x: t.x, y: t.y, width: t.w, height: t.h, rx: 10 }),
        el("text", { x: t.x + t.w / 2, y: t.y + 14, "text-anchor": "middle" }, [t.text]),
      ])
    ),
  );
  const nodes = el("g", { class: "workloads" });
  for (const g of graph.groups) {
    for (const n of g.nodes) {
      const r = layout.nodes.get(n.key);
      if (!r) continue;
      const ports = n.ports.slice(0, 4).join(" ") + (n.ports.length > 4 ? " …" : "");
      nodes.append(el("g", {
        class: `workload workload--${verdictClass(n.verdict)}`,
        "data-testid": `workload:${n.key}`,
        "data-verdict": n.verdict,
      }, [
        title(
          `${n.key}\n${n.flows} flows${n.ports.length ? `\nports: ${n.ports.join(", ")}` : ""}`,
        ),
        el("rect", { x: r.x, y: r.y, width: NODE_W, height: NODE_H, rx: 8 }),
        el("text", { class: "workload__name", x: r.x + 12, y: r.y + 20 }, [clip(n.name, 22)]),
        el("text", { class: "workload__ports", x: r.x + 12, y: r.y + NODE_H - 10 }, [
          ports || `${n.flows} flows`,
        ]),
      ]));
    }
  }
  svg.replaceChildren(defs, boxes, edges, nodes, labels);
}

/** @param {GraphEdge} e */
function edgeTitle(e) {
  const lines = [`${e.from} → ${e.to}: ${e.count} flows`];
  for (const [verdict, n] of Object.entries(e.verdicts)) lines.push(`  ${verdict}: ${n}`);
  const reasons = Object.entries(e.dropReasons);
  if (reasons.length) {
    lines.push(`drop reasons: ${reasons.map(([r, n]) => `${r} (${n})`).join(", ")}`);
  }
  if (e.ports.length) lines.push(`ports: ${e.ports.join(", ")}`);
  return lines.join("\n");
}

/** @param {string} s @param {number} max */
function clip(s, max) {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

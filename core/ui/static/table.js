// @ts-check
/// <reference lib="dom" />
// The flow table: newest first, one row per flow (`data-testid="flow-row"`, `data-verdict`);
// clicking a row shows the flow's JSON under it, and stays open while new flows arrive.
import { endpointLabel, portProto, verdictClass } from "./model.js";

/** @typedef {import("./model.js").Flow} Flow */

/** Rows a render keeps in the DOM: the page's list holds more, the table shows the newest. */
const TABLE_ROWS = 500;

export class FlowTable {
  /** @type {Set<string>} uuids whose JSON is shown */
  #open = new Set();
  /** @type {Map<string, Flow>} the flows of the last render, by uuid */
  #flows = new Map();

  /** @param {HTMLTableSectionElement} tbody */
  constructor(tbody) {
    this.tbody = tbody;
    tbody.addEventListener("click", (ev) => this.#toggle(ev.target));
    tbody.addEventListener("keydown", (ev) => {
      if (ev.key !== "Enter" && ev.key !== " ") return;
      ev.preventDefault();
      this.#toggle(ev.target);
    });
  }

  /** Shows or hides the JSON of the row `target` is in. @param {EventTarget | null} target */
  #toggle(target) {
    const row = target instanceof Element ? target.closest("tr[data-uuid]") : null;
    const uuid = row?.getAttribute("data-uuid");
    if (!row || !uuid) return;
    if (this.#open.delete(uuid)) {
      row.nextElementSibling?.remove();
      row.setAttribute("aria-expanded", "false");
    } else {
      this.#open.add(uuid);
      row.after(this.#detail(uuid, row));
    }
  }

  /** @param {readonly Flow[]} flows newest first */
  render(flows) {
    const rows = [];
    this.#flows = new Map();
    for (const f of flows.slice(0, TABLE_ROWS)) {
      this.#flows.set(f.uuid, f);
      const row = flowRow(f);
      rows.push(row);
      if (this.#open.has(f.uuid)) rows.push(this.#detail(f.uuid, row));
    }
    if (rows.length === 0) {
      const td = cell("No flows match (yet).", "flows__empty");
      td.colSpan = 6;
      rows.push(tr([td], { "data-testid": "flow-empty" }));
    }
    this.tbody.replaceChildren(...rows);
  }

  /** @param {string} uuid @param {Element} row */
  #detail(uuid, row) {
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(this.#flows.get(uuid) ?? {}, null, 2);
    const td = document.createElement("td");
    td.colSpan = 6;
    td.append(pre);
    row.setAttribute("aria-expanded", "true");
    return tr([td], { class: "flows__detail", "data-testid": "flow-detail" });
  }
}

/** @param {Flow} f */
function flowRow(f) {
  const verdict = cell(f.verdict, `verdict verdict--${verdictClass(f.verdict)}`);
  if (f.drop_reason_desc) verdict.title = f.drop_reason_desc;
  const time = cell(shortTime(f.time), "flows__time");
  time.title = f.time;
  const src = cell(endpointLabel(f.source, f.IP?.source));
  src.title = [f.IP?.source, ...(f.source?.labels ?? [])].filter(Boolean).join("\n");
  const dst = cell(endpointLabel(f.destination, f.IP?.destination));
  dst.title = [f.IP?.destination, ...(f.destination?.labels ?? [])].filter(Boolean).join("\n");
  const reason = f.drop_reason_desc ?? "";
  const summary = [
    f.Summary,
    reason && !f.Summary?.includes(reason) ? `(dropped: ${reason})` : "",
    f.destination_service
      ? `(service ${f.destination_service.namespace}/${f.destination_service.name})`
      : "",
  ].filter(Boolean).join(" ");
  return tr([time, src, dst, cell(portProto(f)), verdict, cell(summary, "flows__summary")], {
    "data-testid": "flow-row",
    "data-verdict": f.verdict,
    "data-uuid": f.uuid,
    tabindex: "0",
    "aria-expanded": "false",
  });
}

/** @param {string} text @param {string} [className] */
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** @param {HTMLTableCellElement[]} cells @param {Record<string, string>} attrs */
function tr(cells, attrs) {
  const row = document.createElement("tr");
  for (const [k, v] of Object.entries(attrs)) row.setAttribute(k, v);
  row.append(...cells);
  return row;
}

/** "12:34:56.789" (UTC) from an RFC 3339 time; the full time is the cell's title. */
function shortTime(/** @type {string} */ time) {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString().slice(11, 23);
}

// @ts-check
/// <reference lib="dom" />
// The page: wires the filter bar, the flow stream, the service map and the flow table. The
// filters live in the page's query string, so a filtered view is a link; applying filters
// clears the flows, aborts the old stream and starts a new one. Rendering is batched (a burst
// of flows renders once).
import { layoutMap } from "./layout.js";
import { renderMap } from "./map.js";
import { buildGraph, filterParams, FlowList, formFromSearch } from "./model.js";
import { followFlows } from "./stream.js";
import { FlowTable } from "./table.js";

/** Past flows loaded when (re)starting, and the most the page holds. */
const LAST = 1000;
const CAPACITY = 2000;
const RENDER_EVERY_MS = 250;
// The page is served at …/ui/: the API is a sibling of ui/, wherever the agent is mounted.
const FLOWS_URL = new URL("../v1/flows", document.baseURI);
// The agent's TCP listener wants a bearer token: open the page as …/ui/#token=<token>. The
// fragment never reaches a server; the token is kept for this tab only and leaves the address bar.
let apiHeaders = takeToken();

/** @template {HTMLElement} T @param {string} id @returns {T} */
function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`The page has no element #${id}`);
  return /** @type {T} */ (e);
}

const form = /** @type {HTMLFormElement} */ (byId("filter-bar"));
const errorBox = byId("error");
const statusBox = byId("status");
const pauseButton = /** @type {HTMLButtonElement} */ (byId("pause"));
const mapBox = byId("map-box");
const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (byId("map")));
const table = new FlowTable(/** @type {HTMLTableSectionElement} */ (byId("flow-rows")));

const held = new FlowList(CAPACITY);
let state = "loading";
let stateDetail = "";
let paused = false;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let renderTimer;
let unseen = 0;
/** @type {AbortController | undefined} */
let stream;

function takeToken() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem("hypha-api-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = sessionStorage.getItem("hypha-api-token");
  return token ? { authorization: `Bearer ${token}` } : {};
}

function scheduleRender() {
  if (!renderTimer) renderTimer = setTimeout(render, RENDER_EVERY_MS);
}

function render() {
  renderTimer = undefined;
  if (!paused) {
    const flows = held.newest();
    const graph = buildGraph(flows);
    renderMap(svg, graph, layoutMap(graph, mapBox.clientWidth || 1000));
    table.render(flows);
    unseen = 0;
  }
  renderStatus();
}

function renderStatus() {
  const parts = [state === "live" ? "● live" : state, `${held.size} flows`];
  if (held.lost) parts.push(`${held.lost} lost`);
  if (paused) parts.push(`paused${unseen ? ` (${unseen} new)` : ""}`);
  if (stateDetail) parts.push(stateDetail);
  statusBox.textContent = parts.join(" · ");
  statusBox.dataset.state = state;
}

/** @param {string} message @param {string} [field] */
function showError(message, field) {
  errorBox.textContent = message;
  if (field) errorBox.dataset.field = field;
  else delete errorBox.dataset.field;
  errorBox.hidden = false;
}

function apply() {
  stream?.abort();
  stream = undefined;
  errorBox.hidden = true;
  errorBox.textContent = "";
  const data = new FormData(form);
  const field = (/** @type {string} */ name) => String(data.get(name) ?? "");
  const parsed = filterParams({
    namespace: field("namespace"),
    pod: field("pod"),
    verdict: field("verdict"),
    filters: field("filters"),
  });
  held.clear();
  if ("error" in parsed) {
    showError(parsed.error, "filters");
    state = "stopped";
    stateDetail = "";
    render();
    return;
  }
  const query = new URLSearchParams(parsed.params).toString();
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
  const ctl = new AbortController();
  stream = ctl;
  state = "loading";
  stateDetail = "";
  render();
  followFlows(FLOWS_URL, parsed.params, LAST, ctl.signal, {
    onFlows(flows) {
      if (ctl.signal.aborted) return;
      for (const f of flows) if (held.add(f)) unseen++;
      scheduleRender();
    },
    onLost(n) {
      held.lost += n;
      scheduleRender();
    },
    onState(s, detail) {
      if (ctl.signal.aborted) return;
      state = s === "retrying" ? "reconnecting" : s;
      stateDetail = detail ?? "";
      renderStatus();
    },
    onRejected(message, field) {
      if (ctl.signal.aborted) return;
      showError(message, field);
      state = "stopped";
      stateDetail = "";
      render();
    },
  }, apiHeaders);
}

function fillForm() {
  const values = formFromSearch(new URLSearchParams(location.search));
  for (const [name, value] of Object.entries(values)) {
    const input = form.elements.namedItem(name);
    if (input instanceof HTMLInputElement || input instanceof HTMLSelectElement) {
      input.value = value;
    }
  }
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  apply();
});
form.addEventListener("reset", () => setTimeout(apply)); // after the browser cleared the inputs
byId("verdict").addEventListener("change", apply);
pauseButton.addEventListener("click", () => {
  paused = !paused;
  pauseButton.textContent = paused ? "Resume" : "Pause";
  pauseButton.setAttribute("aria-pressed", String(paused));
  render();
});
globalThis.addEventListener("resize", scheduleRender);
globalThis.addEventListener("hashchange", () => {
  if (!/token=/.test(location.hash)) return;
  apiHeaders = takeToken();
  apply();
});

fillForm();
apply();

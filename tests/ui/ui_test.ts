// The agent's UI end to end: a 2-node lab with etcd, pods in two namespaces, a NetworkPolicy that
// drops one client's traffic and an audit-mode policy that only reports another's; the page is
// opened in headless Chromium through a loopback proxy to node n2's API socket (core/ui/proxy.ts;
// never a lab address from the root namespace). The map must show the workloads, a dropped edge
// and an audited one; the table must follow new flows and obey filters; a bad filter must show
// the API's error. A screenshot of the result is kept at tests/ui/screenshots/service-map.png.
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveUiProxy } from "../../core/ui/mod.ts";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { attrs, launchBrowser } from "./_browser.ts";
import { waitFor } from "../lab/wait.ts";
import { applyPolicy, waitConverged, waitPolicyApplied } from "../lab/converge.ts";

const SCREENSHOT = join(import.meta.dirname!, "screenshots", "service-map.png");

// shop/backend accepts only shop/frontend on 8080; shop/db denies everything, in audit mode.
const POLICIES = {
  "backend.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-from-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: backend}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{protocol: TCP, port: 8080}]
`,
  "db.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-deny-all
  namespace: shop
  annotations: {policy.hypha.dev/audit: "true"}
spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
`,
};

Deno.test("UI (lab): the agent's service map and flow table show real traffic and drops", async (t) => {
  await using lab = await Lab.create({ nodes: 2, etcd: 1 });
  await lab.startAgents();
  const frontend = await lab.addPod("n1", "shop/frontend", { labels: { app: "frontend" } });
  const scanner = await lab.addPod("n1", "ops/scanner", { labels: { app: "scanner" } });
  const backend = await lab.addPod("n2", "shop/backend", { labels: { app: "backend" } });
  const db = await lab.addPod("n2", "shop/db", { labels: { app: "db" } });
  await using _backend = await rrServe(backend.ns, { port: 8080 });
  await using _db = await rrServe(db.ns, { port: 5432 });
  await waitConverged(lab);
  let revision = 0;
  for (const text of Object.values(POLICIES)) revision = await applyPolicy(lab, text);
  // both policies (the audit one too: its probe passes either way) are in force on every node
  await waitPolicyApplied(lab, revision);
  const probe = async (from: { ns: string }, to: { ip: string }, port: number) =>
    (await rrClient(from.ns, {
      host: to.ip,
      port,
      mode: "probe",
      count: 3,
      intervalMs: 50,
      timeoutMs: 400,
    })).ok;
  assert.equal(await probe(frontend, backend, 8080), 3, "frontend -> backend is allowed");
  assert.equal(await probe(scanner, backend, 8080), 0, "scanner -> backend is dropped");
  assert.equal(await probe(frontend, db, 5432), 3, "frontend -> db passes (audit mode)");

  await using proxy = serveUiProxy({ socket: lab.node("n2").socket });
  const served = await fetch(proxy.url);
  await served.body?.cancel();
  assert.equal(served.status, 200, "the agent serves the UI (core/api/app.ts mounts uiRoutes())");
  await using browser = await launchBrowser();
  const { page } = browser;
  const rows = page.getByTestId("flow-row");
  const edge = (key: string) => page.getByTestId(`edge:${key}`);
  await page.goto(proxy.url);

  await t.step("the map shows the workloads, a dropped edge and an audited one", async () => {
    for (const key of ["shop/frontend", "shop/backend", "shop/db", "ops/scanner"]) {
      await page.getByTestId(`workload:${key}`).waitFor({ timeout: 20_000 });
    }
    await waitFor(
      "the dropped edge ops/scanner -> shop/backend",
      async () =>
        (await edge("ops/scanner->shop/backend").getAttribute("data-verdict")) === "DROPPED",
    );
    // each edge appears when its flows reach the page: waited for one by one
    for (
      const [key, verdict] of [
        ["shop/frontend->shop/backend", "FORWARDED"],
        ["shop/frontend->shop/db", "AUDIT"],
      ]
    ) {
      await waitFor(
        `the edge ${key} shows ${verdict}`,
        async () => (await edge(key!).getAttribute("data-verdict", { timeout: 1000 })) === verdict,
      );
    }
    assert.match(
      await edge("ops/scanner->shop/backend").locator("title").textContent() ?? "",
      /drop reasons: \S+/,
    );
  });

  await t.step("the table shows the flows", async () => {
    await waitFor("rows", async () => (await rows.count()) >= 6);
    const verdicts = new Set(await attrs(rows, "data-verdict"));
    assert.ok(verdicts.has("DROPPED") && verdicts.has("FORWARDED"), [...verdicts].join(", "));
  });

  await t.step("a verdict filter leaves only drops, and new drops arrive live", async () => {
    await page.getByTestId("filter-verdict").selectOption("DROPPED");
    await waitFor("only dropped rows", async () => {
      const v = await attrs(rows, "data-verdict");
      return v.length > 0 && v.every((x) => x === "DROPPED");
    });
    const before = await rows.count();
    assert.equal(await probe(frontend, backend, 8080), 3);
    assert.equal(await probe(scanner, backend, 8080), 0);
    await waitFor("new dropped rows", async () => (await rows.count()) > before, 15_000);
    assert.ok((await attrs(rows, "data-verdict")).every((x) => x === "DROPPED"));
  });

  await t.step("a filter the API rejects shows its error", async () => {
    await page.getByTestId("filter-clear").click();
    await page.getByTestId("filter-text").fill("from-ip=10.0.0.0/33");
    await page.getByTestId("filter-apply").click();
    const error = page.getByTestId("error");
    await error.waitFor({ state: "visible" });
    assert.match(await error.textContent() ?? "", /from-ip.*10\.0\.0\.0\/33/);
  });

  await t.step("a screenshot of the map", async () => {
    await page.getByTestId("filter-clear").click();
    await page.getByTestId("workload:ops/scanner").waitFor();
    await waitFor(
      "the dropped edge again",
      async () =>
        (await edge("ops/scanner->shop/backend").getAttribute("data-verdict")) === "DROPPED",
    );
    await Deno.mkdir(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok((await Deno.stat(SCREENSHOT)).size > 10_000, `${SCREENSHOT} is written`);
  });

  assert.deepEqual(browser.pageErrors, []);
});

// The UI in headless Chromium against two stand-ins for an agent, one suite for both: a fake flow
// API (tests/ui/_fake_flows.ts) and the real admin API in-process over a real flow store
// (tests/ui/_api_flows.ts). No lab, no root, a few seconds each. The lab test (ui_test.ts) runs
// the page against real agents.
import assert from "node:assert/strict";
import { join } from "node:path";
import { attrs, launchBrowser } from "./_browser.ts";
import { waitFor } from "../lab/wait.ts";
import { serveApiFlows } from "./_api_flows.ts";
import { type FakeFlows, serveFakeFlows } from "./_fake_flows.ts";
import type { Flow } from "../../core/flows/flow.ts";
import { BACKEND, fixtureFlows, FRONTEND, makeFlow, SCANNER } from "./_flows_fixture.ts";

const SCREENSHOTS = join(import.meta.dirname!, "screenshots");

const BACKENDS: [string, (flows: Flow[]) => FakeFlows][] = [
  ["fake API", serveFakeFlows],
  ["agent API", serveApiFlows],
];

for (const [name, serve] of BACKENDS) {
  Deno.test(`UI (${name}): service map, live flow table, filters and errors`, async (t) => {
    await suite(t, serve, name === "fake API");
  });
}

async function suite(
  t: Deno.TestContext,
  serve: (flows: Flow[]) => FakeFlows,
  screenshot: boolean,
) {
  const flows = fixtureFlows();
  await using fake = serve(flows);
  await using browser = await launchBrowser();
  const { page } = browser;
  const rows = page.getByTestId("flow-row");
  const rowVerdicts = () => attrs(rows, "data-verdict");
  await page.goto(fake.url);

  await t.step("the map shows workloads by namespace and edges coloured by verdict", async () => {
    for (
      const key of [
        "shop/frontend",
        "shop/backend",
        "shop/db",
        "ops/scanner",
        "kube-system/coredns",
        "world",
        "host",
      ]
    ) {
      await page.getByTestId(`workload:${key}`).waitFor();
    }
    for (const ns of ["shop", "ops", "kube-system", ""]) {
      await page.getByTestId(`namespace:${ns}`).waitFor();
    }
    const edge = (key: string) => page.getByTestId(`edge:${key}`);
    assert.equal(
      await edge("shop/frontend->shop/backend").getAttribute("data-verdict"),
      "FORWARDED",
    );
    assert.equal(
      await edge("shop/frontend->shop/backend").getAttribute("data-count"),
      "3",
      "replies fold into the request's edge",
    );
    assert.equal(await edge("ops/scanner->shop/backend").getAttribute("data-verdict"), "DROPPED");
    assert.equal(await edge("ops/scanner->shop/db").getAttribute("data-verdict"), "DROPPED");
    assert.equal(await edge("shop/frontend->world").getAttribute("data-verdict"), "AUDIT");
    assert.equal(
      await edge("shop/frontend->kube-system/coredns").getAttribute("data-verdict"),
      "FORWARDED",
    );
    assert.match(
      await edge("ops/scanner->shop/backend").locator("title").textContent() ?? "",
      /drop reasons: POLICY_DENIED \(2\)/,
    );
    // Drops are visible: red and dashed, and the workload they hit is marked.
    const stroke = await edge("ops/scanner->shop/backend").locator(".edge__line").evaluate((e) => {
      // Runs in the page: the browser's getComputedStyle, typed here without the DOM library.
      const s = (globalThis as unknown as {
        getComputedStyle(e: unknown): { stroke: string; strokeDasharray: string };
      }).getComputedStyle(e);
      return [s.stroke, s.strokeDasharray];
    });
    assert.deepEqual(stroke, ["rgb(214, 45, 32)", "7px, 4px"]);
    assert.equal(
      await page.getByTestId("workload:shop/backend").getAttribute("data-verdict"),
      "DROPPED",
    );
  });

  await t.step("the table lists every flow, newest first", async () => {
    await waitFor("all rows", async () => (await rows.count()) === flows.length);
    assert.deepEqual(await attrs(rows, "data-uuid"), flows.map((f) => f.uuid).reverse());
    const first = rows.first();
    assert.equal(await first.locator("td").nth(1).textContent(), "shop/frontend-6f7c9-x2x8k");
    assert.equal(await first.locator("td").nth(3).textContent(), "8080/TCP");
    await first.click();
    assert.match(
      await page.getByTestId("flow-detail").textContent() ?? "",
      /"pod_name": "backend-5d8b4-kq9zt"/,
    );
    await first.click();
    assert.equal(await page.getByTestId("flow-detail").count(), 0);
  });

  await t.step("new flows arrive at the top of the table and on the map", async () => {
    const drop = makeFlow({
      src: FRONTEND,
      dst: BACKEND,
      port: 9090,
      verdict: "DROPPED",
      ms: 60_000,
    });
    fake.push(drop);
    await waitFor(
      "the new flow on top",
      async () => (await rows.first().getAttribute("data-uuid")) === drop.uuid,
    );
    await waitFor(
      "the edge turning red",
      async () =>
        (await page.getByTestId("edge:shop/frontend->shop/backend").getAttribute(
          "data-verdict",
        )) === "DROPPED",
    );
    fake.lose(3);
    await waitFor(
      "lost events in the status",
      async () => /3 lost/.test(await page.getByTestId("status").textContent() ?? ""),
    );
    assert.match(await page.getByTestId("status").textContent() ?? "", /live/);
  });

  await t.step("a verdict filter leaves only dropped flows, also among new ones", async () => {
    await page.getByTestId("filter-verdict").selectOption("DROPPED");
    await waitFor("only dropped rows", async () => {
      const v = await rowVerdicts();
      return v.length === 4 && v.every((x) => x === "DROPPED");
    });
    assert.match(String(await page.evaluate("location.href")), /\?verdict=DROPPED$/);
    assert.ok(
      fake.requests.some(({ url: u }) =>
        u.searchParams.get("verdict") === "DROPPED" && u.searchParams.get("follow") === "true"
      ),
    );
    const fwd = makeFlow({ src: FRONTEND, dst: BACKEND, port: 8080, ms: 61_000 });
    const drop = makeFlow({ src: SCANNER, dst: BACKEND, port: 22, verdict: "DROPPED", ms: 62_000 });
    fake.push(fwd, drop);
    await waitFor(
      "the new drop on top",
      async () => (await rows.first().getAttribute("data-uuid")) === drop.uuid,
    );
    assert.ok((await rowVerdicts()).every((v) => v === "DROPPED"));
    assert.equal(
      await page.getByTestId("workload:kube-system/coredns").count(),
      0,
      "the map follows the filter",
    );
  });

  await t.step("a filter the API rejects shows its message", async () => {
    await page.getByTestId("filter-clear").click();
    await page.getByTestId("filter-text").fill("from-ip=10.0.0.0/33");
    await page.getByTestId("filter-apply").click();
    const error = page.getByTestId("error");
    await error.waitFor({ state: "visible" });
    // Each stand-in words it its own way; both name the filter and the value.
    assert.match(await error.textContent() ?? "", /^Invalid -*from-ip "10\.0\.0\.0\/33": /);
    assert.equal(await error.getAttribute("data-field"), "from-ip");
    assert.match(await page.getByTestId("status").textContent() ?? "", /stopped/);
  });

  await t.step("a malformed filter is refused before asking the API", async () => {
    const asked = fake.requests.length;
    await page.getByTestId("filter-text").fill("verdict");
    await page.getByTestId("filter-apply").click();
    await waitFor(
      "the error",
      async () =>
        /Filter "verdict" is not key=value/.test(
          await page.getByTestId("error").textContent() ?? "",
        ),
    );
    assert.equal(fake.requests.length, asked);
  });

  await t.step(
    "filters in the page's URL apply on load; clearing shows everything again",
    async () => {
      await page.goto(`${fake.url}?namespace=ops`);
      assert.equal(await page.getByTestId("filter-namespace").inputValue(), "ops");
      await waitFor("ops rows only", async () => (await rows.count()) === 4);
      await page.getByTestId("filter-clear").click();
      await waitFor("every row", async () => (await rows.count()) === flows.length + 3);
      assert.equal(await page.getByTestId("error").isVisible(), false);
    },
  );

  await t.step("an API token in the URL fragment goes to the API as a bearer token", async () => {
    await page.goto(`${fake.url}#token=s3cret`);
    await waitFor(
      "a request with the token",
      () => fake.requests.some((r) => r.authorization === "Bearer s3cret"),
    );
    // Playwright's page.url() follows replaceState late: ask the page.
    assert.doesNotMatch(
      String(await page.evaluate("location.href")),
      /s3cret/,
      "the token leaves the address bar",
    );
  });

  if (screenshot) {
    await t.step("a screenshot of the map", async () => {
      await Deno.mkdir(SCREENSHOTS, { recursive: true });
      const file = join(SCREENSHOTS, "service-map-fake.png");
      await page.screenshot({ path: file, fullPage: true });
      assert.ok((await Deno.stat(file)).size > 10_000);
    });
  }

  assert.deepEqual(browser.pageErrors, []);
}

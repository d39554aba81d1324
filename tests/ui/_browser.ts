// Headless Chromium for the UI tests: Debian's /usr/bin/chromium driven by playwright-core (which
// never downloads a browser here), a fresh profile per launch, and the flags that keep Chromium
// off the network (no background services, updates, sync or QUIC). The page's uncaught errors
// and Content-Security-Policy violations are collected so a test can assert there were none.
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser extends AsyncDisposable {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught exceptions and CSP violations on the page so far. */
  readonly pageErrors: string[];
}

export async function launchBrowser(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install the Debian package "chromium" (scripts/setup.sh)`,
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "hypha-ui-chromium-" });
  let context: BrowserContext;
  try {
    // A persistent context is how playwright takes a user data dir of our choosing.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ARGS,
      viewport: { width: 1400, height: 1000 },
      timeout: 30_000,
    });
  } catch (err) {
    await Deno.remove(profile, { recursive: true });
    throw err;
  }
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(10_000);
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy/i.test(msg.text())) {
      pageErrors.push(msg.text());
    }
  });
  return {
    context,
    page,
    pageErrors,
    async [Symbol.asyncDispose]() {
      try {
        await context.close();
      } finally {
        await Deno.remove(profile, { recursive: true });
      }
    },
  };
}

/** The `data-*` attribute values of every element `loc` matches. */
export async function attrs(loc: Locator, name: string): Promise<(string | null)[]> {
  return await loc.evaluateAll(
    (els, n) => els.map((e) => (e as { getAttribute(k: string): string | null }).getAttribute(n)),
    name,
  );
}

// The web UI: a live service map and flow table (like Hubble UI), served by the agent next to its
// API. `GET /ui` redirects to `ui/` (relative, so a path prefix in front of the agent survives) and
// the page's own URLs are relative too (its assets, and ../v1/flows). The assets are plain files in static/, imported as text so
// they are part of the module graph (and of the `deno compile` executable) without a build step.
import { Hono } from "hono";
import appJs from "./static/app.js" with { type: "text" };
import indexHtml from "./static/index.html" with { type: "text" };
import layoutJs from "./static/layout.js" with { type: "text" };
import mapJs from "./static/map.js" with { type: "text" };
import modelJs from "./static/model.js" with { type: "text" };
import streamJs from "./static/stream.js" with { type: "text" };
import styleCss from "./static/style.css" with { type: "text" };
import tableJs from "./static/table.js" with { type: "text" };

const JS = "text/javascript; charset=utf-8";

/** Path under /ui/ -> [content type, body]. */
export const UI_ASSETS: ReadonlyMap<string, readonly [string, string]> = new Map([
  ["", ["text/html; charset=utf-8", indexHtml]],
  ["style.css", ["text/css; charset=utf-8", styleCss]],
  ["app.js", [JS, appJs]],
  ["layout.js", [JS, layoutJs]],
  ["map.js", [JS, mapJs]],
  ["model.js", [JS, modelJs]],
  ["stream.js", [JS, streamJs]],
  ["table.js", [JS, tableJs]],
]);

// Everything the page loads comes from the agent itself; nothing inline, nothing remote.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Small files that change with the agent's version: revalidate rather than go stale.
  "cache-control": "no-cache",
};

export function uiRoutes(): Hono {
  return new Hono()
    .get("/ui", (c) => {
      const query = new URL(c.req.url).search;
      return c.redirect(`ui/${query}`, 302);
    })
    .get("/ui/:asset{.*}", (c) => {
      const asset = UI_ASSETS.get(c.req.param("asset"));
      if (!asset) return c.notFound();
      const [type, body] = asset;
      return c.body(body, 200, { "content-type": type, ...SECURITY_HEADERS });
    });
}

// Flows (core/flows): stored flows with Hubble's filters, a live NDJSON stream (`follow=true`),
// the cluster view (`cluster=true`) and the store's counters. Query parameters are named like
// `hypha observe`'s flags; a bad one is a 400 naming it.
import { Hono } from "hono";
import type { AdminBackend } from "../backend.ts";
import { UnavailableError, ValidationError } from "../errors.ts";
import { FlowFilterError } from "../../flows/filter.ts";
import type { FlowsView } from "../../flows/observer.ts";
import { type FlowQuery, parseFlowQuery } from "../../flows/query.ts";
import type { FlowSubscription } from "../../flows/subscription.ts";

export function flowRoutes(backend: AdminBackend): Hono {
  const view = (): FlowsView => {
    const flows = backend.flows?.();
    if (!flows) {
      throw new UnavailableError(
        "Flow observability is off on this node (observability.enabled is false)",
      );
    }
    return flows;
  };
  return new Hono()
    .get("/v1/flows", async (c) => {
      const flows = view();
      let q: FlowQuery;
      try {
        q = parseFlowQuery(new URL(c.req.url).searchParams);
      } catch (err) {
        if (err instanceof FlowFilterError) throw new ValidationError(err.message, err.field);
        throw err;
      }
      // Not c.req.raw.signal: Deno (legacy) aborts it on a completed response, and warns. A
      // client that leaves cancels the stream's body instead; peers have their own timeout.
      if (q.cluster) return c.json(await flows.cluster(q));
      if (!q.follow) return c.json(flows.query(q));
      return ndjson(flows.follow(q));
    })
    .get(
      "/v1/flows/stats",
      (c) => c.json({ ...view().stats(), datapath: backend.flowEventStats?.() ?? null }),
    );
}

/** Bytes of NDJSON gathered into one write of a follow stream. */
const MAX_WRITE = 256 * 1024;

/**
 * The subscription as an NDJSON body. Pull-based: the next event is taken only when the client
 * has read the previous one, so a slow client fills its own bounded queue (and loses flows,
 * told by lost-events lines) instead of memory here; a client that goes away cancels the body,
 * which ends the subscription.
 */
function ndjson(sub: FlowSubscription): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await sub.next();
      if (r.done) return controller.close();
      // what else is queued goes in the same write: one write per burst, not per flow
      let text = JSON.stringify(r.value) + "\n";
      for (let n = sub.available; n > 0 && text.length < MAX_WRITE; n--) {
        const more = await sub.next();
        if (more.done) break;
        text += JSON.stringify(more.value) + "\n";
      }
      controller.enqueue(encoder.encode(text));
    },
    cancel() {
      sub.close();
    },
  }, { highWaterMark: 1 });
  return new Response(body, {
    headers: { "content-type": "application/x-ndjson", "cache-control": "no-store" },
  });
}

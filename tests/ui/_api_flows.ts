// The agent's real admin API in-process (core/api createApiApp with core/api's fake backend and
// a real FlowObserver behind the flow routes, and the UI it mounts), on loopback: the page against
// the real flow API's filters, NDJSON stream and errors, without a lab or root.
import { fakeBackend } from "../../core/api/_fake_backend.ts";
import { createApiApp } from "../../core/api/app.ts";
import type { Flow } from "../../core/flows/flow.ts";
import type { FakeFlows, FlowRequest } from "./_fake_flows.ts";

export function serveApiFlows(initial: readonly Flow[]): FakeFlows {
  const backend = fakeBackend();
  for (const f of initial) backend.observer.add(f);
  const requests: FlowRequest[] = [];
  const app = createApiApp(backend); // with the UI, as the agent serves it
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/v1/flows") {
      requests.push({ url, authorization: req.headers.get("authorization") });
    }
    return app.fetch(req);
  });
  const close = async () => {
    const done = server.shutdown();
    await backend.observer.stop(); // ends the follow streams
    await done;
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/ui/`,
    requests,
    push: (...flows) => flows.forEach((f) => backend.observer.add(f)),
    lose: (n) => backend.observer.reportLost("PERF_EVENT_RING_BUFFER", n),
    close,
    [Symbol.asyncDispose]: close,
  };
}

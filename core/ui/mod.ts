// The web UI: a live service map and flow table served by the agent (uiRoutes, mounted in
// core/api/app.ts), and a loopback proxy that opens an agent's UI from its unix socket.
export { UI_ASSETS, uiRoutes } from "./routes.ts";
export { serveUiProxy, type UiProxy, type UiProxyOptions } from "./proxy.ts";

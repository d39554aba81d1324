// core/plugin: how plugins are defined, started, stopped and observed.
export {
  type HookError,
  type HookEvents,
  type HookHandler,
  type HookName,
  Hooks,
  type PluginHooks,
} from "./hooks.ts";
export {
  definePlugin,
  type Health,
  type Logger,
  type MapRegistry,
  type OwnedMap,
  type Plugin,
  type PluginContext,
  type PluginDatapath,
  type PluginDefinition,
  type StopReason,
} from "./plugin.ts";
export {
  type HostServices,
  PluginError,
  PluginHost,
  type PluginState,
  type PluginStatus,
  startOrder,
} from "./host.ts";

// core/flows: what happens to flows after the decoder — the store, filters with Hubble's
// semantics, follow subscriptions, export, output formats, and the cluster view between nodes.
// The agent makes a FlowObserver (observer.ts) and feeds it the records a FlowReader (reader.ts)
// reads; its store keeps them (event_log.ts) and decodes them (decode.ts, with the node's state
// from context.ts) when they are read. The API and CLI use the rest.
export * from "./flow.ts";
export {
  type FlowEvent,
  type FlowRecord,
  flowRecord,
  isLostEvents,
  type LostEventSource,
  type LostEventsRecord,
  lostEventsRecord,
} from "./events.ts";
export {
  compileFilter,
  compileFilters,
  FILTER_FLAGS,
  type FlowFilter,
  FlowFilterError,
  type FlowFilterSet,
  type FlowPredicate,
  MAX_FILTER_VALUE_LENGTH,
  MAX_FILTER_VALUES,
  MAX_LABEL_REQUIREMENTS,
  PROTOCOLS,
} from "./filter.ts";
export { type LabelSelector, matchesLabels, parseLabelSelector } from "./label_selector.ts";
export {
  cutToLimit,
  FILTER_FLAG_NAMES,
  type FlowQuery,
  flowQueryParams,
  limitQuery,
  parseFilterSpec,
  parseFlowQuery,
} from "./query.ts";
export { Glob } from "./glob.ts";
export { flowTimeMs, formatRfc3339, parseDuration, parseTimeFlag } from "./time.ts";
export {
  DEFAULT_CAPACITY,
  DEFAULT_SUBSCRIBER_BUFFER,
  FlowStore,
  type FlowStoreOptions,
  type FlowStoreStats,
  type QueryOptions,
} from "./store.ts";
export { FlowSubscription, type SubscriberStats } from "./subscription.ts";
export { type ExporterStats, FlowExporter, type FlowExporterOptions } from "./export.ts";
export {
  compactLine,
  dropReason,
  endpoints,
  flowType,
  jsonLine,
  lostLine,
  OUTPUT_FORMATS,
  type OutputFormat,
  summary,
  TABLE_HEADER,
  tableRow,
  verdictText,
} from "./format.ts";
export { mergeFlows } from "./merge.ts";
export {
  type ClusterFlows,
  fetchPeerFlows,
  type NodeAnswer,
  type PeerClientOptions,
  type PeerFlows,
  type PeerNode,
  queryCluster,
} from "./peer_client.ts";
export { type PeerAnswer, peerHandler, type PeerServer, servePeer } from "./peer_server.ts";
export {
  type ClusterFlowsAnswer,
  FlowObserver,
  type FlowObserverOptions,
  type FlowsAnswer,
  type FlowsView,
  type ObservabilityConfig,
  type ObserverStats,
  PEER_PORT,
  type PeerStats,
} from "./observer.ts";
export {
  type FlowContext,
  FlowDecoder,
  type InterfaceKind,
  type KnownEndpoint,
  type RuleInfo,
  workloadOf,
} from "./decode.ts";
export { NodeFlowContext, type NodeFlowContextOptions } from "./context.ts";
export { FlowReader, type FlowReaderOptions, type FlowReaderStats } from "./reader.ts";
export { datapathMonitor } from "./monitor.ts";

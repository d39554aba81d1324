// core/service: Kubernetes Services and EndpointSlices as a first-class source of state — the
// "API server role": parsing and validation with field paths, defaulting, allocation of cluster
// IPs and node ports, and the helpers the load balancer (plugins/lb) reads the state tables
// with. Pure: stores (core/store) and the admin API (core/agent/service_api.ts) do the I/O.
//
// Reading the tables (plugins get them through PluginContext.state):
//   for (const { service } of state.services.list()) {
//     const slices = slicesOfService(state.endpointSlices.list().map((r) => r.slice), service);
//     for (const port of service.ports) backendsOf(port, slices); // address, target port, ...
//   }
export * from "./model.ts";
export {
  allocateService,
  type Allocation,
  type AllocationIssue,
  type PreviousAllocation,
} from "./allocate.ts";
export {
  type Backend,
  backendsOf,
  slicesByService,
  sliceServiceKey,
  slicesOfService,
} from "./backends.ts";
export {
  claimId,
  describeClaim,
  manifestClaims,
  type ServiceClaim,
  ServiceClaimError,
  serviceClaims,
  type ServiceUsage,
  usageOf,
} from "./claims.ts";
export {
  DEFAULT_SERVICE_OPTIONS,
  type NodePortRange,
  parsePortRange,
  type ServiceOptions,
  serviceOptions,
} from "./options.ts";
export { parseEndpointSlice } from "./parse_slice.ts";
export { parseService } from "./parse_service.ts";
export {
  type Rejection,
  type ResolvedServices,
  resolveServiceManifests,
  type SourcedManifest,
} from "./resolve.ts";
export {
  documents,
  objectRef,
  type ParsedText,
  parseServiceObject,
  parseServiceText,
  SERVICE_KINDS,
  type ServiceKind,
  type ServiceObject,
  underDocument,
} from "./text.ts";

// core/netlink: the netlink edge (links, addresses, routes, neighbours, sysctls) through
// iproute2. With core/bpf, the only code that changes the kernel.
export { ip, ipBatch, ipJson, type IpOptions, NetlinkError } from "./exec.ts";
export {
  createVeth,
  deleteLink,
  ensureVxlan,
  getLink,
  type LinkInfo,
  vethLines,
  type VethSpec,
} from "./link.ts";
export {
  HYPHA_ROUTE_PROTO,
  listHyphaRoutes,
  reconcileRoutes,
  type Route,
  routeKey,
  routeLine,
  type RouteReconcile,
  validRoute,
} from "./route.ts";
export { ifnameProblem, netnsPathProblem } from "./validate.ts";
export { ensureSysctl } from "./sysctl.ts";
export {
  existsIfname,
  listIfnames,
  readIfalias,
  readIfindex,
  readMac,
  readSysNumber,
  writeIfalias,
} from "./sysfs.ts";

// core/ipam: IP address management without privileges: address and CIDR parsing, the cluster pod
// CIDR pool cut into node CIDRs, and pod IP allocation inside a node CIDR. Pure and in-memory;
// persistence and distribution (a store doing compare-and-swap) are the caller's.
export {
  InvalidCidrError,
  InvalidIpError,
  IpamConflictError,
  IpamError,
  IpamExhaustedError,
} from "./errors.ts";
export {
  familyBits,
  formatIp,
  formatV6Groups,
  Ip,
  type IpFamily,
  parseIp,
  tryParseIp,
} from "./ip.ts";
export {
  ipFrom16Bytes,
  ipFromBytes,
  ipTo16Bytes,
  ipToBytes,
  ipv4ToU32,
  u32ToIpv4,
} from "./ip_bytes.ts";
export { Cidr, parseCidr, type ParseCidrOptions, tryParseCidr } from "./cidr.ts";
export {
  MIN_NODE_HOST_BITS,
  nodeCidrCount,
  nodeCidrIndex,
  nthNodeCidr,
  PodCidrPool,
} from "./pod_cidr_pool.ts";
export { IpAllocator, type IpAllocatorOptions, type IpAllocatorSnapshot } from "./ip_allocator.ts";

// The load balancer's settings: the `plugins.lb` section of the config (deno.json defaults, the
// node file, --set). Unknown fields are errors like everywhere else.
import { z } from "zod";
import { checkMaglevSize, MAGLEV_DEFAULT_M } from "./maglev.ts";

export const lbConfigSchema = z.strictObject({
  /** Backend selection when a service does not say (annotation service.cilium.io/lb-algorithm). */
  algorithm: z.enum(["random", "maglev"]).default("random"),
  maglev: z.strictObject({
    /** Entries of every Maglev table: a prime; more entries, less disruption. */
    tableSize: z.int().superRefine((m, ctx) => {
      const why = checkMaglevSize(m);
      if (why) ctx.addIssue({ code: "custom", message: why });
    }).default(MAGLEV_DEFAULT_M),
    /**
     * The hash seed every node shares so every node picks the same backend for a flow; "" derives
     * it from the cluster name (node.cluster), which every node of a cluster has.
     */
    seed: z.string().default(""),
  }).prefault({}),
  /**
   * Traffic from outside the cluster to a backend on another node: "snat" translates the source
   * to this node (replies come back through it); "dsr" keeps the client's address and the
   * backend's node answers directly (IPv4; the service address travels in an IP option).
   */
  mode: z.enum(["snat", "dsr"]).default("snat"),
  /** Balance east-west traffic at the socket (cgroup connect/sendmsg/recvmsg/getpeername). */
  socketLB: z.boolean().default(true),
  /**
   * Also balance traffic from outside in XDP on the node's devices, before the stack allocates
   * an skb: "generic" works on every device, "native" needs driver support.
   */
  xdp: z.enum(["off", "generic", "native"]).default("off"),
  /** Serve kube-proxy's health check on healthCheckNodePort for externalTrafficPolicy Local. */
  healthCheck: z.boolean().default(true),
  /** Seconds between garbage-collection rounds of the load balancer's conntrack. */
  conntrackGC: z.int().min(1).max(3600).default(30),
});

export type LbConfig = z.output<typeof lbConfigSchema>;

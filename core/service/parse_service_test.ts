import assert from "node:assert/strict";
import { parseCidr } from "../ipam/cidr.ts";
import type { ServiceOptions } from "./options.ts";
import { DEFAULT_SERVICE_OPTIONS } from "./options.ts";
import { parseService } from "./parse_service.ts";

const DUAL: ServiceOptions = {
  clusterIPRanges: [parseCidr("10.96.0.0/16"), parseCidr("fd00:96::/108")],
  nodePortRange: { min: 30000, max: 32767 },
};

function svc(spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec, ...extra };
}

function issuesOf(doc: unknown, opts = DEFAULT_SERVICE_OPTIONS): Record<string, string> {
  const r = parseService(doc, opts);
  assert.ok(!r.ok, "expected issues");
  return Object.fromEntries(r.issues.map((i) => [i.path, i.message]));
}

function parsed(doc: unknown, opts = DEFAULT_SERVICE_OPTIONS) {
  const r = parseService(doc, opts);
  if (!r.ok) assert.fail(r.issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
  return r.value;
}

Deno.test("parseService() makes every default explicit", () => {
  assert.deepEqual(parsed(svc({ selector: { app: "web" }, ports: [{ port: 80 }] })), {
    namespace: "default",
    name: "web",
    type: "ClusterIP",
    clusterIPs: [],
    headless: false,
    selector: { app: "web" },
    ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 80 }],
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    externalTrafficPolicy: "Cluster",
    internalTrafficPolicy: "Cluster",
    annotations: {},
  });
});

Deno.test("parseService() normalises a LoadBalancer service with every field", () => {
  const doc = svc({
    type: "LoadBalancer",
    clusterIP: "10.96.0.10",
    clusterIPs: ["10.96.0.10", "fd00:96::0a"],
    ipFamilies: ["IPv4", "IPv6"],
    ipFamilyPolicy: "RequireDualStack",
    selector: { "app.kubernetes.io/name": "web" },
    ports: [
      { name: "http", port: 80, targetPort: "http-web", nodePort: 30080, appProtocol: "http" },
      { name: "dns", port: 53, protocol: "UDP", targetPort: 5353 },
    ],
    externalIPs: ["2001:db8::1", "192.0.2.10", "192.0.2.10"],
    loadBalancerIP: "198.51.100.7",
    loadBalancerSourceRanges: ["10.1.2.3/8", "fd00::/8"],
    externalTrafficPolicy: "Local",
    internalTrafficPolicy: "Local",
    healthCheckNodePort: 31000,
    sessionAffinity: "ClientIP",
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    allocateLoadBalancerNodePorts: true,
    loadBalancerClass: "hypha",
    publishNotReadyAddresses: false,
    trafficDistribution: "PreferClose",
  }, {
    metadata: {
      name: "web",
      namespace: "shop",
      uid: "1234",
      annotations: { "service.cilium.io/lb-algorithm": "maglev" },
    },
    status: { loadBalancer: { ingress: [{ ip: "2001:db8::7" }, { hostname: "lb.example" }] } },
  });
  assert.deepEqual(parsed(doc, DUAL), {
    namespace: "shop",
    name: "web",
    type: "LoadBalancer",
    clusterIPs: ["10.96.0.10", "fd00:96::a"],
    headless: false,
    selector: { "app.kubernetes.io/name": "web" },
    ports: [
      { name: "http", protocol: "TCP", port: 80, targetPort: "http-web", nodePort: 30080 },
      { name: "dns", protocol: "UDP", port: 53, targetPort: 5353 },
    ],
    externalIPs: ["192.0.2.10", "2001:db8::1"],
    loadBalancerIPs: ["198.51.100.7", "2001:db8::7"],
    loadBalancerSourceRanges: ["10.0.0.0/8", "fd00::/8"],
    externalTrafficPolicy: "Local",
    internalTrafficPolicy: "Local",
    healthCheckNodePort: 31000,
    affinityTimeoutSeconds: 60,
    algorithm: "maglev",
    annotations: { "service.cilium.io/lb-algorithm": "maglev" },
  });
});

Deno.test("parseService() reads the special forms", async (t) => {
  await t.step("headless services need no ports and get no address", () => {
    const s = parsed(svc({ clusterIP: "None", selector: { app: "db" } }));
    assert.equal(s.headless, true);
    assert.deepEqual([s.clusterIPs, s.ports], [[], []]);
  });
  await t.step("ExternalName needs only the name", () => {
    const s = parsed(svc({ type: "ExternalName", externalName: "db.example.com." }));
    assert.equal(s.type, "ExternalName");
    assert.deepEqual(s.clusterIPs, []);
  });
  await t.step("legacy Global is Cluster; ClientIP affinity defaults to 3 hours", () => {
    const s = parsed(svc({
      type: "NodePort",
      ports: [{ port: 80 }],
      externalTrafficPolicy: "Global",
      sessionAffinity: "ClientIP",
    }));
    assert.equal(s.externalTrafficPolicy, "Cluster");
    assert.equal(s.affinityTimeoutSeconds, 10800);
  });
  await t.step("an empty selector is no selector; 0 and empty ports are absent", () => {
    const s = parsed(svc({
      type: "NodePort",
      selector: {},
      ports: [{ port: 80, targetPort: 0, nodePort: 0 }],
      healthCheckNodePort: 0,
    }));
    assert.equal(s.selector, undefined);
    assert.deepEqual(s.ports, [{ name: "", protocol: "TCP", port: 80, targetPort: 80 }]);
  });
  await t.step("load-balancer IPs count only for type LoadBalancer", () => {
    const s = parsed(svc({ ports: [{ port: 80 }], loadBalancerIP: "192.0.2.1" }));
    assert.deepEqual(s.loadBalancerIPs, []);
  });
  await t.step("null fields are absent, as in the Kubernetes API", () => {
    const s = parsed(svc({ ports: [{ port: 80, name: null }], clusterIP: null, type: null }));
    assert.equal(s.type, "ClusterIP");
  });
});

Deno.test("parseService() rejects a wrong document with the field path", () => {
  assert.deepEqual(issuesOf([1]), { "": "Must be an object, got a list" });
  assert.deepEqual(issuesOf({ apiVersion: "v1", kind: "Pod" }), {
    kind: `Must be "Service", got "Pod"`,
  });
  assert.deepEqual(issuesOf({ kind: "Service", apiVersion: "v2", spec: { ports: [] } }), {
    apiVersion: `Must be "v1" for kind "Service", got "v2"`,
    metadata: `Field "metadata" is required (with at least a name)`,
    "spec.ports": `At least one port is required (unless the service is headless, ` +
      `spec.clusterIP "None", or of type "ExternalName")`,
  });
  assert.deepEqual(
    issuesOf({
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "9web",
        namespace: "Shop",
        labels: { app: "a b" },
        annotations: { "bad key/": "x", "service.cilium.io/lb-algorithm": "least-conn" },
        color: "red",
      },
      extra: 1,
    }),
    {
      extra: `Unknown field "extra"`,
      "metadata.color": `Unknown field "color"`,
      "metadata.name": `Invalid name "9web": must be a DNS-1035 label: at most 63 lower-case ` +
        `letters, digits and "-", starting with a letter and ending with a letter or digit`,
      "metadata.namespace": `Invalid namespace "Shop": must be a lower-case DNS label: at most ` +
        `63 letters, digits and "-", starting and ending with a letter or digit`,
      "metadata.labels.app": `Invalid label "app": must be empty or 1-63 letters, digits, "-", ` +
        `"_" or ".", starting and ending with a letter or digit`,
      'metadata.annotations["bad key/"]': `Invalid annotation key "bad key/": the prefix ` +
        `before "/" must be a lower-case DNS subdomain of at most 253 characters`,
      'metadata.annotations["service.cilium.io/lb-algorithm"]':
        `Must be "random" or "maglev", got "least-conn"`,
      spec: `Field "spec" is required (at least the ports)`,
    },
  );
});

Deno.test("parseService() reports every spec rule at its path", async (t) => {
  const p80 = [{ port: 80 }];
  const cases: Array<[string, Record<string, unknown>, Record<string, string>]> = [
    ["unknown spec field", { ports: p80, topologyKeys: ["x"], portz: 1 }, {
      "spec.topologyKeys": `Unknown field "topologyKeys"`,
      "spec.portz": `Unknown field "portz" (did you mean "ports"?)`,
    }],
    ["type", { type: "Internal", ports: p80 }, {
      "spec.type": `Must be "ClusterIP", "NodePort", "LoadBalancer" or "ExternalName", got ` +
        `"Internal"`,
    }],
    ["cluster IP outside the range", { clusterIP: "10.0.0.1", ports: p80 }, {
      "spec.clusterIP": `Cluster IP "10.0.0.1" is outside the cluster IP range 10.96.0.0/12 ` +
        `(services.clusterIPRange)`,
    }],
    ["cluster IP: network and broadcast", { clusterIPs: ["10.96.0.0"], ports: p80 }, {
      "spec.clusterIPs[0]": `Cluster IP "10.96.0.0" is the network address of 10.96.0.0/12`,
    }],
    ["cluster IP of an unconfigured family", { clusterIP: "fd00::1", ports: p80 }, {
      "spec.clusterIP": `Cluster IP "fd00::1" is IPv6 but no IPv6 cluster IP range is ` +
        `configured (services.clusterIPRangeV6)`,
    }],
    ["clusterIP and clusterIPs disagree", {
      clusterIP: "10.96.0.1",
      clusterIPs: ["10.96.0.2"],
      ports: p80,
    }, { "spec.clusterIPs[0]": `Must equal spec.clusterIP ("10.96.0.1"), got "10.96.0.2"` }],
    ["invalid cluster IP", { clusterIP: "10.96.0.256", ports: p80 }, {
      "spec.clusterIP": `Invalid IP address "10.96.0.256": octet "256" is out of range 0-255`,
    }],
    ["headless NodePort", { type: "NodePort", clusterIP: "None", ports: p80 }, {
      "spec.clusterIP": `"None" (headless) is only for type "ClusterIP", got type "NodePort"`,
    }],
    ["headless with an address", { clusterIPs: ["None", "10.96.0.1"], ports: p80 }, {
      "spec.clusterIPs[1]": `Must not follow "None" (a headless service has no cluster IP)`,
    }],
    ["ExternalName with a cluster IP and no name", {
      type: "ExternalName",
      clusterIP: "10.96.0.1",
      ipFamilies: ["IPv4"],
    }, {
      "spec.clusterIP": `Must not be set for type "ExternalName", got "10.96.0.1"`,
      "spec.ipFamilies": `Must not be set for type "ExternalName"`,
      "spec.externalName": `Field "externalName" is required for type "ExternalName"`,
    }],
    ["ExternalName with a bad name", { type: "ExternalName", externalName: "db_1.example" }, {
      "spec.externalName": `Invalid DNS name "db_1.example": must be a lower-case DNS ` +
        `subdomain: at most 253 letters, digits, "-" and ".", starting and ending with a ` +
        `letter or digit`,
    }],
    ["ipFamilies of an unconfigured family", { ipFamilies: ["IPv6", "IPv6", "IPv5"], ports: p80 }, {
      "spec.ipFamilies": "Must have at most 2 families, got 3",
      "spec.ipFamilies[0]": "IPv6 is not configured on this cluster: set " +
        "services.clusterIPRangeV6",
      "spec.ipFamilies[1]": "IPv6 is not configured on this cluster: set " +
        "services.clusterIPRangeV6",
    }],
    ["RequireDualStack on a single-stack cluster", {
      ipFamilyPolicy: "RequireDualStack",
      ports: p80,
    }, {
      "spec.ipFamilyPolicy": `"RequireDualStack" needs an IPv4 and an IPv6 cluster IP range: ` +
        `set services.clusterIPRange and services.clusterIPRangeV6`,
    }],
    ["ipFamilyPolicy", { ipFamilyPolicy: "DualStack", ports: p80 }, {
      "spec.ipFamilyPolicy": `Must be "SingleStack", "PreferDualStack" or "RequireDualStack", ` +
        `got "DualStack"`,
    }],
    ["selector", { selector: { app: 1, "-x": "y" }, ports: p80 }, {
      "spec.selector.app": "Must be a string, got the number 1: quote it",
      'spec.selector["-x"]': `Invalid label "-x": the name must be 1-63 letters, digits, ` +
        `"-", "_" or ".", starting and ending with a letter or digit`,
    }],
    ["ports required", { selector: { app: "x" } }, {
      "spec.ports": `At least one port is required (unless the service is headless, ` +
        `spec.clusterIP "None", or of type "ExternalName")`,
    }],
    ["port names", {
      ports: [{ port: 80 }, { name: "Web", port: 81 }, { name: "a", port: 82 }, {
        name: "a",
        port: 83,
      }],
    }, {
      "spec.ports[0].name": `Field "name" is required when a service has more than one port`,
      "spec.ports[1].name": `Invalid port name "Web": must be a lower-case DNS label: at most ` +
        `63 letters, digits and "-", starting and ending with a letter or digit`,
      "spec.ports[3].name": `Duplicate port name "a" (also spec.ports[2].name)`,
    }],
    ["port numbers and protocols", {
      ports: [
        { name: "a", port: 0, protocol: "ICMP" },
        { name: "b", targetPort: 70000, bind: 1 },
        { name: "c", port: 80, targetPort: "8080" },
        { name: "d", port: 80, targetPort: true },
        { name: "e", port: "80", protocol: "TCP" },
      ],
    }, {
      "spec.ports[0].protocol": `Must be "TCP", "UDP" or "SCTP", got "ICMP"`,
      "spec.ports[0].port": "Must be 1-65535, got 0",
      "spec.ports[1].bind": `Unknown field "bind"`,
      "spec.ports[1].port": `Field "port" is required`,
      "spec.ports[1].targetPort": "Must be 1-65535, got 70000",
      "spec.ports[2].targetPort": `Invalid port name "8080": must contain at least one letter ` +
        "(write a port number without quotes)",
      "spec.ports[3].port": "Duplicate port 80/TCP (also spec.ports[2])",
      "spec.ports[3].targetPort": "Must be a port number or name, got the boolean true",
      "spec.ports[4].port": `Must be an integer, got the string "80"`,
    }],
    ["node port range and type", {
      type: "NodePort",
      ports: [{ name: "a", port: 80, nodePort: 40000 }, { name: "b", port: 81, nodePort: 30001 }, {
        name: "c",
        port: 82,
        nodePort: 30001,
      }],
    }, {
      "spec.ports[0].nodePort": "Must be 30000-32767 (services.nodePortRange), got 40000",
      "spec.ports[2].nodePort": "Node port 30001/TCP is also spec.ports[1].nodePort",
    }],
    ["node port on a ClusterIP service", { ports: [{ port: 80, nodePort: 30001 }] }, {
      "spec.ports[0].nodePort": `Must not be set for type "ClusterIP" (node ports are for ` +
        `NodePort and LoadBalancer services), got the number 30001`,
    }],
    ["external IPs", { ports: p80, externalIPs: ["0.0.0.0", "fe80::1", "224.0.0.1", "x"] }, {
      "spec.externalIPs[0]": `Invalid IP address "0.0.0.0": must not be an unspecified address`,
      "spec.externalIPs[1]": `Invalid IP address "fe80::1": must not be a link-local address`,
      "spec.externalIPs[2]": `Invalid IP address "224.0.0.1": must not be a multicast address`,
      "spec.externalIPs[3]": `Invalid IP address "x": not an IPv4 or IPv6 address`,
    }],
    ["load-balancer IPs", { type: "LoadBalancer", ports: p80, loadBalancerIP: "1.2.3.4.5" }, {
      "spec.loadBalancerIP": `Invalid IP address "1.2.3.4.5": expected 4 dotted decimal ` +
        "octets, got 5",
    }],
    ["source ranges on a NodePort service", {
      type: "NodePort",
      ports: p80,
      loadBalancerSourceRanges: ["10.0.0.0/8"],
    }, {
      "spec.loadBalancerSourceRanges": `Must not be set for type "NodePort" (source ranges ` +
        "restrict LoadBalancer IPs)",
    }],
    ["bad source range", {
      type: "LoadBalancer",
      ports: p80,
      loadBalancerSourceRanges: ["10.0.0.0/33"],
    }, {
      "spec.loadBalancerSourceRanges[0]": `Invalid CIDR "10.0.0.0/33": prefix length must be ` +
        "0-32 for IPv4",
    }],
    ["Local traffic policy on a ClusterIP service", {
      ports: p80,
      externalTrafficPolicy: "Local",
      internalTrafficPolicy: "Node",
    }, {
      "spec.externalTrafficPolicy": `"Local" is only for types "NodePort" and "LoadBalancer", ` +
        `got type "ClusterIP"`,
      "spec.internalTrafficPolicy": `Must be "Cluster" or "Local", got "Node"`,
    }],
    ["health check node port without Local", {
      type: "LoadBalancer",
      ports: p80,
      healthCheckNodePort: 30100,
    }, {
      "spec.healthCheckNodePort": `Must not be set unless type is "LoadBalancer" or ` +
        `"NodePort" with externalTrafficPolicy "Local", got the number 30100`,
    }],
    ["health check node port range and overlap", {
      type: "NodePort",
      externalTrafficPolicy: "Local",
      ports: [{ port: 80, nodePort: 30100 }],
      healthCheckNodePort: 30100,
    }, { "spec.healthCheckNodePort": "Node port 30100 is also spec.ports[0].nodePort" }],
    ["session affinity", {
      ports: p80,
      sessionAffinity: "Cookie",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } },
    }, {
      "spec.sessionAffinity": `Must be "None" or "ClientIP", got "Cookie"`,
      "spec.sessionAffinityConfig.clientIP.timeoutSeconds": "Must be 1-86400, got 86401",
    }],
    ["affinity config with None", {
      ports: p80,
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } },
    }, {
      "spec.sessionAffinityConfig.clientIP": `Must not be set when spec.sessionAffinity is ` +
        `"None"`,
    }],
    ["accepted fields are still typed", {
      ports: p80,
      publishNotReadyAddresses: "yes",
      loadBalancerClass: 3,
    }, {
      "spec.publishNotReadyAddresses": `Must be true or false, got the string "yes"`,
      "spec.loadBalancerClass": "Must be a string, got the number 3",
    }],
  ];
  for (const [name, spec, want] of cases) {
    await t.step(name, () => assert.deepEqual(issuesOf(svc(spec)), want));
  }
});

Deno.test("parseService() checks dual-stack families against the addresses", async (t) => {
  await t.step("SingleStack cannot have two families", () => {
    assert.deepEqual(
      issuesOf(svc({ clusterIPs: ["10.96.0.5", "fd00:96::5"], ports: [{ port: 80 }] }), DUAL),
      {
        "spec.ipFamilyPolicy": `Must be "PreferDualStack" or "RequireDualStack" for two IP ` +
          "families, got nothing",
      },
    );
  });
  await t.step("addresses follow ipFamilies and are of two families", () => {
    assert.deepEqual(
      issuesOf(
        svc({
          clusterIPs: ["fd00:96::5", "fd00:96::6"],
          ipFamilies: ["IPv4", "IPv6"],
          ipFamilyPolicy: "PreferDualStack",
          ports: [{ port: 80 }],
        }),
        DUAL,
      ),
      {
        "spec.clusterIPs[1]": `Must be of the other IP family than "fd00:96::5" (both are IPv6)`,
        "spec.clusterIPs[0]": `Cluster IP "fd00:96::5" is IPv6 but spec.ipFamilies[0] is "IPv4"`,
      },
    );
  });
  await t.step("an IPv6-primary dual-stack service lists IPv4 first", () => {
    const s = parsed(
      svc({
        clusterIPs: ["fd00:96::5", "10.96.0.5"],
        ipFamilyPolicy: "PreferDualStack",
        ports: [{ port: 80 }],
      }),
      DUAL,
    );
    assert.deepEqual(s.clusterIPs, ["10.96.0.5", "fd00:96::5"]);
  });
});

import assert from "node:assert/strict";
import { compileFilter, compileFilters, type FlowFilter, FlowFilterError } from "./filter.ts";
import { makeFlow } from "./_testing.ts";

// shop/web-7d9f8-abcde 10.244.1.5:51234 -> shop/db-0 10.244.2.7:5432, TCP SYN, FORWARDED, trace
const FLOW = makeFlow();
const match = (f: FlowFilter, flow = FLOW) => compileFilter(f)(flow);

Deno.test("compileFilter() matches each field with Hubble's semantics", async (t) => {
  const cases: Array<[string, FlowFilter, boolean]> = [
    ["empty filter matches all", {}, true],
    ["from-pod ns/prefix", { source_pod: ["shop/web"] }, true],
    ["from-pod whole namespace", { source_pod: ["shop/"] }, true],
    ["from-pod other namespace", { source_pod: ["other/web"] }, false],
    ["from-pod bare name is namespace default", { source_pod: ["web"] }, false],
    ["from-pod bare name with from-namespace", {
      source_pod: ["web"],
      source_namespace: ["shop"],
    }, true],
    ["from-pod is a prefix, not a substring", { source_pod: ["shop/7d9f"] }, false],
    ["to-pod", { destination_pod: ["shop/db"] }, true],
    ["to-pod source side does not count", { destination_pod: ["shop/web"] }, false],
    ["pod either side (source)", { pod: ["shop/web"] }, true],
    ["pod either side (destination)", { pod: ["shop/db"] }, true],
    ["pod values OR", { pod: ["x/y", "shop/db"] }, true],
    ["namespace either side", { namespace: ["shop"] }, true],
    ["namespace other", { namespace: ["kube-system"] }, false],
    ["namespace expands bare pod names", { namespace: ["shop"], pod: ["db"] }, true],
    ["from-namespace", { source_namespace: ["shop"] }, true],
    ["to-namespace", { destination_namespace: ["kube-system"] }, false],
    ["from-label", { source_label: ["app=web"] }, true],
    ["from-label is the source's", { source_label: ["app=db"] }, false],
    ["to-label with source prefix", { destination_label: ["k8s:tier=data"] }, true],
    ["label either side", { label: ["tier=data"] }, true],
    ["label values OR", { label: ["app=nope", "app=db"] }, true],
    ["from-ip address", { source_ip: ["10.244.1.5"] }, true],
    ["from-ip CIDR", { source_ip: ["10.244.1.0/24"] }, true],
    ["from-ip other", { source_ip: ["10.244.2.7"] }, false],
    ["to-ip CIDR", { destination_ip: ["10.244.0.0/16"] }, true],
    ["ip either side", { ip: ["10.244.2.7"] }, true],
    ["ip IPv6 does not match IPv4", { ip: ["fd00::/8"] }, false],
    ["from-port", { source_port: ["51234"] }, true],
    ["to-port", { destination_port: ["5432"] }, true],
    ["to-port other", { destination_port: ["80"] }, false],
    ["port either side", { port: ["5432"] }, true],
    ["verdict", { verdict: ["FORWARDED"] }, true],
    ["verdict lower case", { verdict: ["forwarded"] }, true],
    ["verdict values OR", { verdict: ["DROPPED", "FORWARDED"] }, true],
    ["verdict other", { verdict: ["DROPPED"] }, false],
    ["type trace", { event_type: ["trace"] }, true],
    ["type trace:to-endpoint", { event_type: ["trace:to-endpoint"] }, true],
    ["type trace:from-endpoint", { event_type: ["trace:from-endpoint"] }, false],
    ["type drop", { event_type: ["drop"] }, false],
    ["protocol tcp", { protocol: ["tcp"] }, true],
    ["protocol TCP upper case", { protocol: ["TCP"] }, true],
    ["protocol udp", { protocol: ["udp"] }, false],
    ["node-name", { node_name: ["node1"] }, true],
    ["node-name glob", { node_name: ["node*"] }, true],
    ["node-name other", { node_name: ["node2"] }, false],
    ["traffic-direction", { traffic_direction: ["egress"] }, true],
    ["traffic-direction other", { traffic_direction: ["ingress"] }, false],
    ["fields AND", { verdict: ["FORWARDED"], destination_port: ["5432"] }, true],
    ["fields AND (one fails)", { verdict: ["FORWARDED"], destination_port: ["80"] }, false],
  ];
  for (const [name, f, want] of cases) {
    await t.step(name, () => assert.equal(match(f), want));
  }
});

Deno.test("compileFilter() holds either-side fields together on one side", () => {
  // The source is shop/web on port 51234, the destination shop/db on 5432.
  assert.equal(match({ pod: ["shop/web"], port: ["51234"] }), true);
  assert.equal(match({ pod: ["shop/db"], port: ["5432"] }), true);
  assert.equal(match({ pod: ["shop/web"], port: ["5432"] }), false, "web is not on 5432");
  assert.equal(match({ ip: ["10.244.2.7"], label: ["app=db"] }), true);
  assert.equal(match({ ip: ["10.244.2.7"], label: ["app=web"] }), false);
  // one-sided fields combine freely with either-side ones
  assert.equal(match({ pod: ["shop/web"], destination_port: ["5432"] }), true);
});

Deno.test("compileFilter() on flows without pods, addresses or ports", () => {
  const world = makeFlow({
    source: { labels: ["reserved:world"] },
    l4: { ICMPv4: { type: 8, code: 0 } },
  });
  delete world.source.namespace;
  delete world.source.pod_name;
  assert.equal(match({ source_pod: ["shop/"] }, world), false);
  assert.equal(match({ namespace: ["shop"] }, world), true, "the destination is in shop");
  assert.equal(match({ source_label: ["reserved:world"] }, world), true);
  assert.equal(match({ port: ["5432"] }, world), false, "ICMP has no ports");
  assert.equal(match({ protocol: ["icmp"] }, world), true);
  assert.equal(match({ protocol: ["icmpv6"] }, world), false);
  const noIp = makeFlow();
  delete noIp.IP;
  assert.equal(match({ ip: ["10.0.0.0/8"] }, noIp), false);
});

Deno.test("compileFilters() allows any of the allow list and none of the deny list", () => {
  const drop = makeFlow({ verdict: "DROPPED", event_type: { type: 1 } });
  const p = compileFilters({
    allow: [{ verdict: ["DROPPED"] }, { destination_port: ["5432"] }],
    deny: [{ source_pod: ["shop/web"], verdict: ["DROPPED"] }],
  });
  assert.equal(p(FLOW), true, "the second allow filter");
  assert.equal(p(drop), false, "denied: a drop from shop/web");
  assert.equal(
    p(makeFlow({ destination: { ID: 0 }, l4: { UDP: { source_port: 1, destination_port: 53 } } })),
    false,
  );
  assert.equal(compileFilters({})(FLOW), true);
  assert.equal(compileFilters({ deny: [{ namespace: ["shop"] }] })(FLOW), false);
});

Deno.test("compileFilter() rejects bad values naming the flag and the reason", async (t) => {
  const cases: Array<[FlowFilter, string]> = [
    [
      { source_ip: ["10.0.0.0/33"] },
      `Invalid --from-ip "10.0.0.0/33": must be an IP address or a CIDR: prefix length must be 0-32 for IPv4`,
    ],
    [{ ip: ["10.0.0.300"] }, `Invalid --ip "10.0.0.300": must be an IP address or a CIDR: `],
    [
      { verdict: ["ALLOWED"] },
      `Invalid --verdict "ALLOWED": must be one of FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED`,
    ],
    [
      { event_type: ["flow"] },
      `Invalid --type "flow": must be one of trace, drop, policy-verdict, l7, sock`,
    ],
    [
      { event_type: ["drop:x"] },
      `Invalid --type "drop:x": only trace takes a sub-type, one of trace:to-endpoint,`,
    ],
    [
      { protocol: ["http"] },
      `Invalid --protocol "http": must be one of tcp, udp, sctp, icmp, icmpv4, icmpv6`,
    ],
    [{ port: ["0"] }, `Invalid --port "0": must be a port number from 1 to 65535`],
    [
      { destination_port: ["http"] },
      `Invalid --to-port "http": must be a port number from 1 to 65535`,
    ],
    [
      { source_port: ["65536"] },
      `Invalid --from-port "65536": must be a port number from 1 to 65535`,
    ],
    [{ source_pod: [""] }, `Invalid --from-pod "": must be [namespace/]<pod name prefix>`],
    [
      { destination_pod: ["a/b/c"] },
      `Invalid --to-pod "a/b/c": must be [namespace/]<pod name prefix>`,
    ],
    [{ pod: ["/web"] }, `Invalid --pod "/web": must be [namespace/]<pod name prefix>`],
    [{ namespace: ["Shop"] }, `Invalid --namespace "Shop": must be a namespace name`],
    [
      { namespace: ["shop"], pod: ["other/web"] },
      `Invalid --pod "other/web": namespace "other" conflicts with the namespaces given (shop)`,
    ],
    [
      { namespace: ["shop"], source_pod: ["web"] },
      `Invalid --from-pod "web": has no namespace and --namespace is set: write NAMESPACE/web, or use --from-namespace`,
    ],
    [{ label: ["=x"] }, `Invalid --label "=x": "=x": missing the label key`],
    [{ traffic_direction: ["up"] }, `Invalid --traffic-direction "up": must be ingress or egress`],
    [{ node_name: [""] }, `Invalid --node-name "": must be a node name`],
  ];
  for (const [f, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => compileFilter(f), (e: unknown) => {
        assert.ok(e instanceof FlowFilterError);
        assert.ok(e.message.startsWith(message), `${e.message}\n  does not start with\n${message}`);
        return true;
      });
    });
  }
});

Deno.test("compileFilters() caps what one filter set may hold, naming the flag", async (t) => {
  const fails = (set: Parameters<typeof compileFilters>[0], message: RegExp) =>
    assert.throws(() => compileFilters(set), (e: unknown) => {
      assert.ok(e instanceof FlowFilterError);
      assert.match(e.message, message);
      return true;
    });
  await t.step("a value over 256 characters, quoted short", () => {
    fails(
      { allow: [{ source_pod: [`shop/${"w".repeat(300)}`] }] },
      /^Invalid --from-pod "shop\/w{43}\.\.\." \(305 characters\): must be at most 256 characters$/,
    );
  });
  await t.step("more than 64 values over allow and deny", () => {
    const ports = Array.from({ length: 40 }, (_, i) => String(i + 1));
    fails(
      { allow: [{ port: ports }], deny: [{ destination_port: ports }] },
      /^Invalid --to-port "25": too many filter values: at most 64 in one query/,
    );
    compileFilters({ allow: [{ port: ports }], deny: [{ destination_port: ports.slice(0, 24) }] });
  });
  await t.step("more than 64 label requirements", () => {
    const selector = Array.from({ length: 40 }, (_, i) => `k${i}=v`).join(",");
    fails(
      { allow: [{ label: [selector] }, { source_label: [selector] }] },
      /^Invalid --from-label "k0=v,k1=v,.*\.\.\." \(229 characters\): too many label requirements: at most 64 in one query$/,
    );
  });
  await t.step("fields that are not filters, values that are not strings", () => {
    fails({ allow: [{ nope: ["x"] } as FlowFilter] }, /^Invalid --nope "": is not a filter field/);
    fails(
      { allow: [{ verdict: "DROPPED" } as unknown as FlowFilter] },
      /--verdict "": must be a list/,
    );
    fails(
      { allow: [{ verdict: [7] } as unknown as FlowFilter] },
      /--verdict "7": must be a string/,
    );
  });
});

Deno.test("compileFilter() matches many pod prefixes per namespace", () => {
  const pods = Array.from({ length: 30 }, (_, i) => `p${i}-`);
  const m = compileFilter({
    source_namespace: ["a", "shop", "b"],
    source_pod: pods.concat("web-"),
  });
  assert.equal(m(makeFlow()), true, "shop/web-7d9f8-abcde");
  assert.equal(m(makeFlow({ source: { namespace: "other" } })), false);
  assert.equal(m(makeFlow({ source: { pod_name: "api-1" } })), false);
});

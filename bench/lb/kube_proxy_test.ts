// The kube-proxy baselines: the rule generators (pure), then both designs in the kernel between
// two namespaces this test creates (a client reaching ClusterIPs through its OUTPUT hook, and two
// rr backends behind a veth pair). Needs root, the rr binary (`deno task build:tools`), iptables
// and nft (Debian `nftables`).
import assert from "node:assert/strict";
import { ip, listNetns, run } from "../../tests/lab/netns.ts";
import { rrName, rrServe } from "../../tests/lab/rr.ts";
import {
  baselineServices,
  installKubeProxy,
  type KubeProxyDesign,
  kubeProxyRules,
} from "./baseline_node.ts";
import type { BaselineEndpoint, BaselineService } from "./baseline_service.ts";
import {
  endpointProbability,
  extChainName,
  iptablesRules,
  sepChainName,
  svcChainName,
} from "./kube_proxy_iptables.ts";
import { nftEndpointChainName, nftRules, nftServiceChainName } from "./kube_proxy_nftables.ts";

function service(name: string, endpoints: number, clusterIP = "10.96.0.10"): BaselineService {
  return {
    name,
    namespace: "default",
    clusterIP,
    port: 80,
    protocol: "TCP",
    endpoints: Array.from({ length: endpoints }, (_, i) => ({ ip: `10.1.0.${i + 1}`, port: 8080 })),
  };
}

const lines = (text: string, prefix: string) =>
  text.split("\n").filter((l) => l.startsWith(prefix));
const thousand = () =>
  baselineServices(1000, [{ ip: "10.1.0.1", port: 80 }, { ip: "10.1.0.2", port: 80 }]);

Deno.test("iptablesRules() writes kube-proxy's nat table", async (t) => {
  await t.step("hooks jump to KUBE-SERVICES, which lists services in the given order", () => {
    const services = [service("a", 1, "10.96.0.3"), service("b", 1, "10.96.0.1")];
    const text = iptablesRules(services);
    assert.match(text, /^\*nat\n/);
    assert.match(text, /\nCOMMIT\n$/);
    for (const hook of ["PREROUTING", "OUTPUT"]) {
      assert.equal(lines(text, `-A ${hook} `).length, 1);
      assert.match(lines(text, `-A ${hook} `)[0]!, /-j KUBE-SERVICES$/);
    }
    assert.match(lines(text, "-A POSTROUTING ")[0]!, /-j KUBE-POSTROUTING$/);
    assert.match(text, /-A KUBE-POSTROUTING .*-j MASQUERADE --random-fully/);
    assert.match(text, /-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000\/0x4000/);
    const entries = lines(text, "-A KUBE-SERVICES ");
    assert.deepEqual(entries.map((l) => / -d (\S+) /.exec(l)![1]), [
      "10.96.0.3/32",
      "10.96.0.1/32",
    ]);
    assert.match(entries[0]!, /-p tcp .*--dport 80 -j KUBE-SVC-[A-Z2-7]{16}$/);
  });

  await t.step("2 endpoints: the first with probability 1/2, the second unconditionally", () => {
    const s = service("web", 2);
    const text = iptablesRules([s]);
    const picks = lines(text, `-A ${svcChainName(s)} `);
    assert.equal(picks.length, 2);
    assert.match(picks[0]!, /--probability 0\.5000000000 -j KUBE-SEP-/);
    assert.doesNotMatch(picks[1]!, /statistic/);
    assert.deepEqual(
      picks.map((l) => l.split(" -j ")[1]),
      s.endpoints.map((e) => sepChainName(s, e)),
    );
  });

  await t.step("3 endpoints: 1/3, then 1/2 of the rest, then the last", () => {
    const s = service("web", 3);
    const picks = lines(iptablesRules([s]), `-A ${svcChainName(s)} `);
    assert.deepEqual(
      picks.map((l) => /--probability (\S+)/.exec(l)?.[1] ?? null),
      ["0.3333333333", "0.5000000000", null],
    );
    assert.equal(endpointProbability(0, 4), "0.2500000000");
  });

  await t.step("each endpoint chain marks hairpin traffic, then DNATs", () => {
    const s = service("web", 1);
    const sep = lines(iptablesRules([s]), `-A ${sepChainName(s, s.endpoints[0]!)} `);
    assert.equal(sep.length, 2);
    assert.match(sep[0]!, /-s 10\.1\.0\.1\/32 .*-j KUBE-MARK-MASQ$/);
    assert.match(sep[1]!, /-p tcp .*-j DNAT --to-destination 10\.1\.0\.1:8080$/);
  });

  await t.step("chain names are stable hashes of the service port and endpoint", () => {
    // Independently: base32(sha256("default/web:p80tcp"))[:16] in Python.
    assert.equal(svcChainName(service("web", 1)), "KUBE-SVC-4HWD6WD2BXF6N7ZC");
    const s = service("web", 2);
    assert.equal(svcChainName(s), svcChainName({ ...s, endpoints: [], clusterIP: "10.96.9.9" }));
    assert.notEqual(svcChainName(s), svcChainName({ ...s, protocol: "UDP" }));
    assert.notEqual(svcChainName(s), svcChainName({ ...s, port: 81 }));
    assert.notEqual(sepChainName(s, s.endpoints[0]!), sepChainName(s, s.endpoints[1]!));
    assert.match(sepChainName(s, s.endpoints[0]!), /^KUBE-SEP-[A-Z2-7]{16}$/);
  });

  await t.step("1,000 services with 2 endpoints: 7,007 rules in 3,007 chains", () => {
    const text = iptablesRules(thousand());
    // hooks 3 + KUBE-MARK-MASQ 1 + KUBE-POSTROUTING 3; KUBE-SERVICES 1 per service;
    // KUBE-SVC 2 per service; KUBE-SEP 2 per endpoint
    assert.equal(lines(text, "-A ").length, 7 + 1000 + 2000 + 4000);
    assert.equal(lines(text, "-A KUBE-SERVICES ").length, 1000);
    assert.equal(lines(text, ":KUBE-SVC-").length, 1000);
    assert.equal(lines(text, ":KUBE-SEP-").length, 2000);
    assert.equal(lines(text, ":").length, 4 + 3 + 3000);
    // large cluster mode (over 1,000 endpoints): no comments on per-endpoint rules
    assert.equal(lines(text, "-A KUBE-SEP-").filter((l) => l.includes("comment")).length, 0);
  });

  await t.step("a cluster CIDR masquerades service traffic from outside it", () => {
    const s = service("web", 1);
    const first = lines(
      iptablesRules([s], { clusterCIDR: "10.244.0.0/16" }),
      `-A ${svcChainName(s)} `,
    )[0]!;
    assert.match(first, /! -s 10\.244\.0\.0\/16 -d 10\.96\.0\.10\/32 -p tcp .*-j KUBE-MARK-MASQ$/);
    assert.throws(
      () => iptablesRules([s], { clusterCIDR: "10.244.0.0" }),
      /Cluster CIDR "10.244.0.0"/,
    );
  });
});

Deno.test("iptablesRules() writes kube-proxy's NodePort rules", async (t) => {
  const web = { ...service("web", 2), nodePort: 30080 };
  const api = service("api", 1, "10.96.0.11");

  await t.step("KUBE-SERVICES ends with the LOCAL jump to KUBE-NODEPORTS", () => {
    const text = iptablesRules([web, api]);
    const entries = lines(text, "-A KUBE-SERVICES ");
    assert.equal(entries.length, 3);
    assert.match(entries[2]!, /-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS$/);
    assert.equal(lines(text, ":KUBE-NODEPORTS - ").length, 1);
    const ports = lines(text, "-A KUBE-NODEPORTS ");
    assert.equal(ports.length, 1, "only the NodePort service");
    assert.match(ports[0]!, new RegExp(`-p tcp .*-m tcp --dport 30080 -j ${extChainName(web)}$`));
  });

  await t.step("KUBE-EXT marks for masquerade, then jumps to the service chain", () => {
    const text = iptablesRules([web]);
    const ext = lines(text, `-A ${extChainName(web)} `);
    assert.equal(ext.length, 2);
    assert.match(ext[0]!, /external destinations" -j KUBE-MARK-MASQ$/);
    assert.equal(ext[1], `-A ${extChainName(web)} -j ${svcChainName(web)}`);
    assert.equal(extChainName(web).slice(9), svcChainName(web).slice(9), "the same hash");
  });

  await t.step("without node ports there is no KUBE-NODEPORTS at all", () => {
    assert.doesNotMatch(iptablesRules([api]), /NODEPORTS|addrtype/);
  });

  await t.step("bad and duplicate node ports are rejected, naming the service", () => {
    assert.throws(() => iptablesRules([{ ...web, nodePort: 70000 }]), /nodePort "70000"/);
    assert.throws(
      () => iptablesRules([web, { ...api, nodePort: 30080 }]),
      /"default\/api"\): nodePort 30080\/TCP is used by another service/,
    );
    assert.throws(() => nftRules([web]), /NodePorts are not modelled/);
  });
});

Deno.test("nftRules() writes kube-proxy's nftables table", async (t) => {
  await t.step("nat hooks, the service-ips verdict map and masquerading", () => {
    const text = nftRules([service("web", 2)]);
    assert.match(text, /^add table ip kube-proxy\ndelete table ip kube-proxy\n/);
    assert.match(
      text,
      /add chain ip kube-proxy nat-prerouting \{ type nat hook prerouting priority -100 ; \}/,
    );
    assert.match(
      text,
      /add chain ip kube-proxy nat-output \{ type nat hook output priority -100 ; \}/,
    );
    assert.match(text, /nat-postrouting \{ type nat hook postrouting priority 100 ; \}/);
    assert.match(text, /type ipv4_addr \. inet_proto \. inet_service : verdict/);
    assert.match(
      text,
      /add rule ip kube-proxy services ip daddr \. meta l4proto \. th dport vmap @service-ips/,
    );
    assert.match(text, /masquerading masquerade fully-random/);
    assert.match(
      text,
      /add element ip kube-proxy service-ips \{ 10\.96\.0\.10 \. tcp \. 80 : goto service-CLLS5CZR-default\/web\/tcp\/p80 \}/,
    );
  });

  for (const n of [2, 3]) {
    await t.step(`${n} endpoints: numgen random mod ${n} picks each endpoint chain`, () => {
      const s = service("web", n);
      const text = nftRules([s]);
      const eps = s.endpoints.map((e) => nftEndpointChainName(s, e));
      const picks = eps.map((ep, i) => `${i} : goto ${ep}`).join(", ");
      const svc = nftServiceChainName(s);
      assert.ok(
        text.includes(`add rule ip kube-proxy ${svc} numgen random mod ${n} vmap { ${picks} }`),
      );
      for (const [i, ep] of eps.entries()) {
        const rules = lines(text, `add rule ip kube-proxy ${ep} `);
        assert.equal(rules.length, 2);
        assert.match(
          rules[0]!,
          new RegExp(`ip saddr 10\\.1\\.0\\.${i + 1} jump mark-for-masquerade$`),
        );
        assert.match(rules[1]!, new RegExp(`meta l4proto tcp dnat to 10\\.1\\.0\\.${i + 1}:8080$`));
      }
    });
  }

  await t.step("chain names are stable: hash, then the readable name", () => {
    const s = service("web", 1);
    assert.equal(nftServiceChainName(s), "service-CLLS5CZR-default/web/tcp/p80");
    assert.match(
      nftEndpointChainName(s, s.endpoints[0]!),
      /^endpoint-[A-Z2-7]{8}-default\/web\/tcp\/p80__10\.1\.0\.1\/8080$/,
    );
    assert.notEqual(nftServiceChainName(s), nftServiceChainName({ ...s, protocol: "UDP" }));
  });

  await t.step("1,000 services with 2 endpoints: 3,006 chains, 1,000 map elements", () => {
    const text = nftRules(thousand());
    assert.equal(lines(text, "add chain ").length, 6 + 1000 + 2000);
    assert.equal(lines(text, "add element ").length, 1000);
    // fixed 8; 1 numgen rule per service; 2 per endpoint chain
    assert.equal(lines(text, "add rule ").length, 8 + 1000 + 4000);
  });
});

Deno.test("the generators reject services they cannot write rules for, naming them", () => {
  const ok = service("web", 1);
  const cases: Array<[Partial<BaselineService>, RegExp]> = [
    [{ name: "Web" }, /Service 0 \("default\/Web"\): name is not a DNS label/],
    [{ clusterIP: "10.96.0.256" }, /clusterIP "10.96.0.256" is not IPv4/],
    [{ port: 0 }, /port "0" is not 1-65535/],
    [{ endpoints: [] }, /no endpoints/],
    [
      { endpoints: [{ ip: "10.1.0.1", port: 80 }, { ip: "10.1.0.1", port: 80 }] },
      /"10.1.0.1:80" is listed twice/,
    ],
  ];
  for (const [change, why] of cases) {
    assert.throws(() => iptablesRules([{ ...ok, ...change }]), why);
    assert.throws(() => nftRules([{ ...ok, ...change }]), why);
  }
  assert.throws(
    () => nftRules([ok, { ...ok, name: "other" }]),
    /"10.96.0.10:80\/TCP" is used by another service/,
  );
});

Deno.test("baselineServices() spreads services over the backends, 2 each, with distinct ClusterIPs", () => {
  const backends = [1, 2, 3].map((i) => ({ ip: `10.250.0.${i}`, port: 7100 }));
  const services = baselineServices(300, backends);
  assert.equal(new Set(services.map((s) => s.clusterIP)).size, 300);
  assert.deepEqual([services[0]!.clusterIP, services[255]!.clusterIP], ["10.96.0.1", "10.96.1.0"]);
  assert.deepEqual(services[2]!.endpoints.map((e) => e.ip), ["10.250.0.3", "10.250.0.1"]);
  assert.throws(() => baselineServices(1, backends.slice(0, 1)), /2 backends each, but only 1/);
});

// ---- in the kernel ----

interface Pair {
  prefix: string;
  client: { ns: string; ip: string };
  server: { ns: string; ip: string };
}

async function deletePair(prefix: string): Promise<void> {
  for (const ns of (await listNetns()).filter((n) => n.startsWith(`${prefix}-`))) {
    const pids = (await run(["ip", "netns", "pids", ns], { allowFail: true })).stdout.split(/\s+/)
      .filter(Boolean);
    if (pids.length) await run(["kill", "-KILL", ...pids], { allowFail: true });
    await run(["ip", "netns", "del", ns], { allowFail: true });
  }
}

/** Client and server namespaces on 10.199.<random>.0/24; ClusterIPs routed to the server. */
async function createPair(): Promise<Pair> {
  const existing = await listNetns();
  let id: Uint8Array, prefix: string;
  do {
    id = crypto.getRandomValues(new Uint8Array(2));
    prefix = `hl-kpt-${[...id].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  } while (existing.some((n) => n.startsWith(`${prefix}-`)));
  const net = `10.199.${id[0]}`;
  const pair = {
    prefix,
    client: { ns: `${prefix}-c`, ip: `${net}.1` },
    server: { ns: `${prefix}-s`, ip: `${net}.2` },
  };
  try {
    await run(["ip", "netns", "add", pair.client.ns]);
    await run(["ip", "netns", "add", pair.server.ns]);
    await ip(
      pair.client.ns,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      "eth0",
      "netns",
      pair.server.ns,
    );
    for (const side of [pair.client, pair.server]) {
      await ip(side.ns, "addr", "add", `${side.ip}/24`, "dev", "eth0");
      await ip(side.ns, "link", "set", "eth0", "up");
      await ip(side.ns, "link", "set", "lo", "up");
    }
    // Before the OUTPUT hook rewrites it, a ClusterIP needs a route (as on a node: the default).
    await ip(pair.client.ns, "route", "add", "10.96.0.0/12", "via", pair.server.ip);
  } catch (err) {
    await deletePair(prefix);
    throw err;
  }
  return pair;
}

/** Which backends answered `count` connections to `s` from `ns`. */
async function answering(ns: string, s: BaselineService, count = 20): Promise<string[]> {
  const names = await Promise.all(
    Array.from({ length: count }, () => rrName(ns, s.clusterIP, s.port, { timeoutMs: 2_000 })),
  );
  return [...new Set(names)].sort();
}

const DESIGNS: KubeProxyDesign[] = ["iptables", "nftables"];

Deno.test("kube-proxy's designs balance ClusterIPs over both backends in a namespace", async (t) => {
  const pair = await createPair();
  const { client, server } = pair;
  try {
    await using _b1 = await rrServe(server.ns, { port: 8081, name: "backend-1" });
    await using _b2 = await rrServe(server.ns, { port: 8082, name: "backend-2" });
    const backends: BaselineEndpoint[] = [{ ip: server.ip, port: 8081 }, {
      ip: server.ip,
      port: 8082,
    }];
    const services: BaselineService[] = [
      { ...service("both", 0, "10.96.0.10"), endpoints: backends },
      { ...service("second", 0, "10.96.0.11"), endpoints: [backends[1]!] },
      { ...service("both-tls", 0, "10.96.0.10"), port: 443, endpoints: backends },
    ];

    for (const design of DESIGNS) {
      await t.step(`${design}: 3 services, each answered by its own endpoints`, async () => {
        const kp = await installKubeProxy(client.ns, design, services, {
          clusterCIDR: "10.244.0.0/16",
        });
        try {
          const saved = await kubeProxyRules(client.ns, design);
          const frontends = design === "iptables"
            ? lines(saved, "-A KUBE-SERVICES ").length
            : saved.match(/ : goto service-/g)?.length;
          assert.equal(frontends, 3, saved);
          assert.deepEqual(await answering(client.ns, services[0]!), ["backend-1", "backend-2"]);
          assert.deepEqual(await answering(client.ns, services[1]!), ["backend-2"]);
          assert.deepEqual(await answering(client.ns, services[2]!), ["backend-1", "backend-2"]);
        } finally {
          await kp.remove();
        }
        assert.doesNotMatch(await kubeProxyRules(client.ns, design), /KUBE-|kube-proxy/);
        await assert.rejects(rrName(client.ns, "10.96.0.10", 80, { timeoutMs: 300 }));
      });
    }

    await t.step("iptables: a NodePort on the server's address reaches both backends", async () => {
      const withPort = [{ ...services[0]!, nodePort: 30080 }, services[1]!];
      await using _kp = await installKubeProxy(server.ns, "iptables", withPort);
      const names = await Promise.all(
        Array.from({ length: 20 }, () => rrName(client.ns, server.ip, 30080, { timeoutMs: 2_000 })),
      );
      assert.deepEqual([...new Set(names)].sort(), ["backend-1", "backend-2"]);
      // ClusterIPs routed to the server are DNATed in its PREROUTING by the same rules
      assert.equal(await rrName(client.ns, "10.96.0.11", 80), "backend-2");
    });

    // nftables stops at 3,000 here: each service chain's `numgen ... vmap { ... }` is an
    // anonymous map, and loading them grows faster than linearly on this kernel and nft 1.0.6
    // (4,000 services: 3.8 s with the maps, 1.3 s with plain rules; 10,000: 88-120 s, past the
    // restore's deadline on a busy 2-core machine). The bench loads 10,000 with its own deadline.
    const SIZES: Record<KubeProxyDesign, number[]> = {
      iptables: [1000, 10_000],
      nftables: [1000, 3000],
    };
    for (const design of DESIGNS) {
      const sizes = SIZES[design];
      const title = sizes.map((n) => n.toLocaleString("en-US")).join(" then ");
      await t.step(`${design}: ${title} services load in one restore each`, async () => {
        for (const count of sizes) {
          const many = baselineServices(count, backends);
          const kp = await installKubeProxy(client.ns, design, many);
          try {
            console.log(
              `  ${design}: ${count} services loaded in ${Math.round(kp.loadMs)} ms (${kp.tool})`,
            );
            const last = many.at(-1)!;
            assert.match(await rrName(client.ns, last.clusterIP, last.port), /^backend-[12]$/);
          } finally {
            await kp.remove();
          }
        }
      });
    }
  } finally {
    await deletePair(pair.prefix);
  }
  assert.deepEqual((await listNetns()).filter((n) => n.startsWith(pair.prefix)), []);
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { describeConfig, loadConfig, resolveConfig } from "./load.ts";

async function tempFiles(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "hypha-config-" });
  for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
  return dir;
}

const denoJson = JSON.stringify({
  tasks: {},
  hypha: { node: { cluster: "lab" }, datapath: { counters: true }, plugins: {} },
});

Deno.test("loadConfig() layers deno.json < node file < flags and records provenance", async () => {
  const dir = await tempFiles({
    "deno.json": denoJson,
    "node.yaml": "node:\n  name: n1\ndatapath:\n  devices: [eth0]\n  counters: false\n",
  });
  try {
    const loaded = await loadConfig({
      denoJson: join(dir, "deno.json"),
      nodeFile: join(dir, "node.yaml"),
      flags: ["datapath.counters=true", "log.level=debug"],
    });
    assert.equal(loaded.config.node.name, "n1");
    assert.equal(loaded.config.node.cluster, "lab");
    assert.deepEqual(loaded.config.datapath.devices, ["eth0"]);
    assert.equal(loaded.config.datapath.counters, true);
    assert.equal(loaded.config.paths.bpffs, "/sys/fs/bpf");
    const rows = new Map(describeConfig(loaded).map((r) => [r.path, r]));
    assert.equal(rows.get("node.cluster")?.source, "deno.json");
    assert.equal(rows.get("node.name")?.source, `node file ${join(dir, "node.yaml")}`);
    assert.equal(rows.get("datapath.counters")?.source, "flag");
    assert.equal(rows.get("log.level")?.value, "debug");
    assert.equal(rows.get("paths.state")?.source, "default");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveConfig() reports every invalid field with its path and value", () => {
  const layers = [{
    source: "flag" as const,
    values: {
      api: { tcp: { enabled: true, listen: "abc" } },
      datapath: { attachMode: "fast", devices: ["this-name-is-far-too-long"] },
      node: { name: "Bad_Name", typo: 1 },
      paths: { bpffs: "relative" },
    },
  }];
  assert.throws(() => resolveConfig(layers), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    const byPath = new Map(e.issues.map((i) => [i.path, i.message]));
    assert.match(byPath.get("api.tcp.listen")!, /"abc" must be host:port/);
    assert.match(byPath.get("datapath.attachMode")!, /"fast" is not one of "auto", "tcx", "tc"/);
    assert.match(byPath.get("datapath.devices.0")!, /interface name/);
    assert.match(byPath.get("node.name")!, /DNS label/);
    assert.equal(byPath.get("node.typo"), "unknown field");
    assert.match(byPath.get("paths.bpffs")!, /absolute path/);
    assert.match(e.message, /^Invalid config: /);
    return true;
  });
});

Deno.test("resolveConfig() checks the node address, networking, policy and store fields", () => {
  const values = {
    node: { address: "fd00::1", podCIDR: "10.244.1.5/24" },
    networking: {
      ipv4: { pool: "10.0.0.0/33" },
      ipv6: { pool: "10.0.0.0/8" },
      routing: "bgp",
      mtu: 100,
    },
    policy: { enforcement: "strict" },
    store: { etcd: { endpoints: ["etcd:2379"], prefix: "hypha" } },
  };
  assert.throws(() => resolveConfig([{ source: "flag", values }]), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual(Object.fromEntries(e.issues.map((i) => [i.path, i.message])), {
      "node.address": `"fd00::1" must be an IPv4 address`,
      "node.podCIDR": `"10.244.1.5/24" host bits are set after the prefix (did you mean ` +
        `"10.244.1.0/24"?)`,
      "networking.ipv4.pool": `"10.0.0.0/33" prefix length must be 0-32 for IPv4`,
      "networking.ipv6.pool": `"10.0.0.0/8" must be an IPv6 CIDR`,
      "networking.routing": `"bgp" is not one of "tunnel", "native"`,
      "networking.mtu": "100 must be 0 or 576-65535",
      "policy.enforcement": `"strict" is not one of "default", "always", "never"`,
      "store.etcd.endpoints.0": `"etcd:2379" must be an http(s)://host:port URL`,
      "store.etcd.prefix": `"hypha" must start with / (letters, digits, . _ - /)`,
    });
    return true;
  });
  assert.throws(
    () =>
      resolveConfig([{
        source: "flag",
        values: { networking: { natPortMin: 65000, natPortMax: 62000 } },
      }]),
    /networking\.natPortMin: 65000 must not be above networking\.natPortMax \(62000\)/,
  );
  assert.throws(
    () => resolveConfig([{ source: "flag", values: { store: { kind: "etcd" } } }]),
    /store\.etcd\.endpoints: needs at least one endpoint when store\.kind is etcd/,
  );
});

Deno.test("resolveConfig() checks the services ranges", async (t) => {
  const issuesOf = (values: Record<string, unknown>) => {
    try {
      resolveConfig([{ source: "flag", values }]);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return Object.fromEntries(e.issues.map((i) => [i.path, i.message]));
    }
    assert.fail("expected a ConfigError");
  };
  await t.step("defaults", () => {
    const { config } = resolveConfig([]);
    assert.deepEqual(config.services, {
      clusterIPRange: "10.96.0.0/12",
      clusterIPRangeV6: "",
      nodePortRange: "30000-32767",
    });
  });
  await t.step("bad CIDRs and port ranges name the field", () => {
    assert.deepEqual(
      issuesOf({
        services: { clusterIPRange: "fd00::/108", clusterIPRangeV6: "fd00::1/108" },
      }),
      {
        "services.clusterIPRange": `"fd00::/108" must be an IPv4 CIDR`,
        "services.clusterIPRangeV6": `"fd00::1/108" host bits are set after the prefix (did ` +
          `you mean "fd00::/108"?)`,
      },
    );
    for (
      const [range, message] of [
        ["30000", `"30000" must be MIN-MAX, e.g. "30000-32767"`],
        ["32767-30000", `"32767-30000" the first port (32767) must not be above the last (30000)`],
        ["0-100", `"0-100" ports must be 1-65535`],
        ["30000-70000", `"30000-70000" ports must be 1-65535`],
      ]
    ) {
      assert.deepEqual(issuesOf({ services: { nodePortRange: range } }), {
        "services.nodePortRange": message,
      });
    }
    assert.deepEqual(issuesOf({ services: { nodePortRange: 30000 } }), {
      "services.nodePortRange": "expected string, got 30000",
    });
  });
  await t.step("a range is required and must not overlap the pod pool", () => {
    assert.deepEqual(issuesOf({ services: { clusterIPRange: "" } }), {
      "services.clusterIPRange": `"" must be an IPv4 CIDR when services.clusterIPRangeV6 is ` +
        "empty (services need cluster IPs)",
    });
    assert.deepEqual(issuesOf({ services: { clusterIPRange: "10.244.128.0/20" } }), {
      "services.clusterIPRange": `"10.244.128.0/20" must not overlap networking.ipv4.pool ` +
        "(10.244.0.0/16): pods and services need distinct addresses",
    });
    assert.deepEqual(
      issuesOf({
        networking: { ipv6: { pool: "fd00::/64" } },
        services: { clusterIPRangeV6: "fd00::/108" },
      }),
      {
        "services.clusterIPRangeV6": `"fd00::/108" must not overlap networking.ipv6.pool ` +
          "(fd00::/64): pods and services need distinct addresses",
      },
    );
  });
});

Deno.test("resolveConfig() requires a token file for the TCP listener", () => {
  assert.throws(
    () => resolveConfig([{ source: "flag", values: { api: { tcp: { enabled: true } } } }]),
    /api\.tcp\.tokenFile: is required when api\.tcp\.enabled is true/,
  );
});

Deno.test("resolveConfig() validates plugin sections with the plugin's schema", async (t) => {
  const schemas = { lb: z.strictObject({ tableSize: z.number().int().default(16381) }) };
  await t.step("defaults are applied", () => {
    const c = resolveConfig(
      [{ source: "flag", values: { plugins: { lb: { enabled: true } } } }],
      schemas,
    );
    assert.deepEqual(c.config.plugins.lb, { enabled: true, tableSize: 16381 });
  });
  await t.step("bad plugin fields are named", () => {
    assert.throws(
      () =>
        resolveConfig(
          [{ source: "flag", values: { plugins: { lb: { tableSize: "x" } } } }],
          schemas,
        ),
      /plugins\.lb\.tableSize: expected number, got "x"/,
    );
  });
  await t.step("unknown plugins are rejected", () => {
    assert.throws(
      () =>
        resolveConfig(
          [{ source: "flag", values: { plugins: { nope: { enabled: true } } } }],
          schemas,
        ),
      /plugins\.nope: unknown plugin \(known: lb\)/,
    );
  });
});

Deno.test("loadConfig() names unreadable and malformed files", async () => {
  const dir = await tempFiles({ "deno.json": denoJson, "bad.yaml": "node: [unclosed" });
  try {
    await assert.rejects(
      loadConfig({ denoJson: join(dir, "deno.json"), nodeFile: join(dir, "missing.yaml") }),
      /cannot read node config file ".*missing\.yaml": no such file/,
    );
    await assert.rejects(
      loadConfig({ denoJson: join(dir, "deno.json"), nodeFile: join(dir, "bad.yaml") }),
      /bad\.yaml is not valid YAML/,
    );
    await assert.rejects(
      loadConfig({ denoJson: join(dir, "deno.json"), flags: ["nonsense"] }),
      /--set nonsense/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the repository's own deno.json hypha section is valid", async () => {
  const loaded = await loadConfig();
  assert.equal(loaded.config.datapath.attachMode, "auto");
});

Deno.test("resolveConfig() checks the observability section", async (t) => {
  const issuesOf = (observability: Record<string, unknown>) => {
    try {
      resolveConfig([{ source: "flag", values: { observability } }]);
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return Object.fromEntries(e.issues.map((i) => [i.path, i.message]));
    }
    assert.fail("expected a ConfigError");
  };
  await t.step("defaults", () => {
    assert.deepEqual(resolveConfig([]).config.observability, {
      enabled: true,
      monitor: { level: "medium", interval: 5 },
      dropEventsPerSecond: 1000,
      store: { capacity: 10_000 },
      subscriberBuffer: 1000,
      export: { path: "", maxSizeMB: 10, maxBackups: 3, filter: "" },
      peer: {
        enabled: true,
        listen: "",
        tls: { ca: "", cert: "", key: "", crl: "" },
        insecure: false,
        maxFlows: 10_000,
      },
    });
  });
  await t.step("bad values name the field", () => {
    assert.deepEqual(
      issuesOf({
        monitor: { level: "high", interval: 0 },
        dropEventsPerSecond: -1,
        store: { capacity: 50 },
        subscriberBuffer: 2,
        export: { path: "flows.json", maxSizeMB: 0, maxBackups: -1 },
        peer: { listen: "4245", tls: { ca: "ca.crt", crl: "/crl.pem" }, maxFlows: 0 },
        typo: true,
      }),
      {
        "observability.monitor.level":
          `"high" is not one of "off", "none", "low", "medium", "maximum"`,
        "observability.monitor.interval": "0 Too small: expected number to be >=1",
        "observability.dropEventsPerSecond": "-1 Too small: expected number to be >=0",
        "observability.store.capacity": "50 Too small: expected number to be >=100",
        "observability.subscriberBuffer": "2 Too small: expected number to be >=256",
        "observability.export.path": `"flows.json" must be an absolute path`,
        "observability.export.maxSizeMB": "0 Too small: expected number to be >=1",
        "observability.export.maxBackups": "-1 Too small: expected number to be >=0",
        "observability.peer.listen": `"4245" must be host:port, e.g. 127.0.0.1:9962`,
        "observability.peer.tls.ca": `"ca.crt" must be an absolute path`,
        "observability.peer.tls.cert": "is required with ca (ca, cert and key go together)",
        "observability.peer.tls.key": "is required with ca (ca, cert and key go together)",
        "observability.peer.maxFlows": "0 Too small: expected number to be >=1",
        "observability.typo": "unknown field",
      },
    );
    assert.deepEqual(issuesOf({ store: { capacity: 2_000_000 }, monitor: { interval: 3601 } }), {
      "observability.store.capacity": "2000000 Too big: expected number to be <=1000000",
      "observability.monitor.interval": "3601 Too big: expected number to be <=3600",
    });
    assert.deepEqual(
      issuesOf({ peer: { tls: { crl: "/crl.pem" }, tokenFile: "/t", maxFlows: 50_001 } }),
      {
        "observability.peer.tls.ca": "is required with crl (ca, cert and key go together)",
        "observability.peer.tls.cert": "is required with crl (ca, cert and key go together)",
        "observability.peer.tls.key": "is required with crl (ca, cert and key go together)",
        "observability.peer.tokenFile": "unknown field",
        "observability.peer.maxFlows": "50001 Too big: expected number to be <=50000",
      },
    );
  });
  await t.step("the export filter is a flow filter", () => {
    assert.equal(
      resolveConfig([{
        source: "flag",
        values: { observability: { export: { filter: "verdict=DROPPED&not-namespace=x" } } },
      }]).config.observability.export.filter,
      "verdict=DROPPED&not-namespace=x",
    );
    assert.deepEqual(issuesOf({ export: { filter: "verdict=NOPE" } }), {
      "observability.export.filter": `"verdict=NOPE" is not a flow filter: Invalid --verdict ` +
        `"NOPE": must be one of FORWARDED, DROPPED, ERROR, AUDIT, REDIRECTED, TRACED, TRANSLATED`,
    });
    assert.deepEqual(issuesOf({ export: { filter: "last=5" } }), {
      "observability.export.filter": `"last=5" is not a flow filter: Invalid --last "5": is not ` +
        "a filter (only filters here)",
    });
  });
});

Deno.test("resolveConfig() checks that store.etcd's TLS, endpoints and credentials fit together", () => {
  const issues = (etcd: Record<string, unknown>) => {
    try {
      resolveConfig([{ source: "flag", values: { store: { kind: "etcd", etcd } } }]);
      return {};
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return Object.fromEntries(e.issues.map((i) => [i.path, i.message]));
    }
  };
  assert.deepEqual(issues({ endpoints: ["https://10.0.0.1:2379", "http://10.0.0.2:2379"] }), {
    "store.etcd.endpoints.1":
      `"http://10.0.0.2:2379" must be https like the other endpoints (one cluster, one scheme)`,
    "store.etcd.tls.ca": `is required for https endpoints ("https://10.0.0.1:2379"): the CA ` +
      "that signed etcd's certificates",
  });
  assert.deepEqual(
    issues({ endpoints: ["http://10.0.0.1:2379"], tls: { ca: "/ca.crt", cert: "/n1.crt" } }),
    {
      "store.etcd.endpoints.0": `"http://10.0.0.1:2379" must be https when store.etcd.tls is set`,
      "store.etcd.tls.key": "is required with store.etcd.tls.cert",
    },
  );
  assert.deepEqual(issues({ endpoints: ["http://10.0.0.1:2379"], username: "n1" }), {
    "store.etcd.passwordFile": "is required with store.etcd.username",
    "store.etcd.username": `"n1" needs https endpoints: a password is not sent over plain HTTP`,
  });
  assert.deepEqual(
    issues({ endpoints: ["https://10.0.0.1:2379"], tls: { ca: "ca.crt" }, username: "a b" }),
    {
      "store.etcd.tls.ca": `"ca.crt" must be an absolute path`,
      "store.etcd.username": `"a b" must have no spaces or ':'`,
      "store.etcd.passwordFile": "is required with store.etcd.username",
    },
  );
  assert.deepEqual(
    issues({
      endpoints: ["https://10.0.0.1:2379"],
      tls: { ca: "/ca.crt", cert: "/n1.crt", key: "/n1.key" },
      username: "n1",
      passwordFile: "/pw",
      watchLiveness: 5,
    }),
    {},
  );
});

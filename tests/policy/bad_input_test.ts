// Bad policy input: every problem is reported with its field path (offline `policy validate`,
// and `policy apply` against a running agent), nothing of a rejected request is applied, and the
// policy enforced before stays enforced (checked with traffic). `policy trace` agrees with that
// traffic and refuses bad input by field; `endpoint get` shows the computed policy.
import assert from "node:assert/strict";
import { join } from "node:path";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { applyPolicy, waitConverged, waitPolicyApplied } from "../lab/converge.ts";

const GOOD = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server, namespace: x}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]
`;

const BAD: Array<[string, string, RegExp]> = [
  [
    "an unknown field",
    "spec:\n  podSelector: {}\n  colour: blue\n",
    /spec\.colour: Unknown field "colour"/,
  ],
  [
    "a wrong type",
    "spec:\n  podSelector: {}\n  ingress: [{ports: [{port: {number: 80}}]}]\n",
    /spec\.ingress\[0\]\.ports\[0\]\.port: /,
  ],
  [
    "an invalid CIDR",
    "spec:\n  podSelector: {}\n  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]\n",
    /ipBlock\.cidr: Invalid CIDR "10\.0\.0\.0\/33"/,
  ],
  [
    "a selector with a bad operator",
    "spec:\n  podSelector: {matchExpressions: [{key: app, operator: Like, values: [a]}]}\n",
    /podSelector\.matchExpressions\[0\]\.operator: Unknown operator "Like"/,
  ],
  [
    "a port range upside down",
    "spec:\n  podSelector: {}\n  ingress: [{ports: [{port: 90, endPort: 80}]}]\n",
    /ports\[0\]\.endPort: Port range 90-80 is upside down/,
  ],
];

Deno.test("policy bad input: rejected with field paths, the enforced policy stays", async (t) => {
  await using lab = await Lab.create({ nodes: 2, etcd: 1 });
  await lab.startAgents();
  const client = await lab.addPod("n1", "x/client", { labels: { app: "client" } });
  const other = await lab.addPod("n1", "x/other", { labels: { app: "other" } });
  const server = await lab.addPod("n2", "x/server", { labels: { app: "server" } });
  await using _s = await rrServe(server.ns, { port: 80 });
  const file = async (name: string, text: string) => {
    const path = join(lab.dir, name);
    await Deno.writeTextFile(path, text);
    return path;
  };
  const reach = async (from: { ns: string }) =>
    (await rrClient(from.ns, {
      host: server.ip,
      port: 80,
      mode: "probe",
      count: 3,
      intervalMs: 50,
      timeoutMs: 500,
    })).ok === 3;
  const enforcedAsBefore = async () => {
    assert.equal(await reach(client), true, "the client still gets through");
    assert.equal(await reach(other), false, "the other pod is still denied");
  };
  // both nodes know every pod's identity, then enforce the policy: only then is "as before" known
  await waitConverged(lab);
  await waitPolicyApplied(lab, await applyPolicy(lab, GOOD));
  await enforcedAsBefore();

  for (const [what, spec, message] of BAD) {
    await t.step(what, async () => {
      const path = await file(
        "bad.yaml",
        `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: server, namespace: x}\n${spec}`,
      );
      const offline = await lab.hypha("n1", ["policy", "validate", path], { allowFail: true });
      assert.equal(offline.code, 1);
      assert.match(offline.stdout, message);
      const applied = await lab.hypha("n1", ["policy", "apply", path], { allowFail: true });
      assert.equal(applied.code, 1);
      assert.match(applied.stderr, message);
      await enforcedAsBefore();
    });
  }

  await t.step("one bad document rejects the whole request", async () => {
    const allowAll = GOOD.replace("name: server", "name: open").replace(
      "ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}]",
      "ingress: [{}]",
    );
    const path = await file(
      "mixed.yaml",
      `${allowAll}---\n${GOOD.replace("podSelector:", "podSelecta:")}`,
    );
    const applied = await lab.hypha("n1", ["policy", "apply", path], { allowFail: true });
    assert.equal(applied.code, 1);
    const get = JSON.parse((await lab.hypha("n1", ["policy", "get", "-o", "json"])).stdout);
    assert.deepEqual(get.policies.map((p: { key: string }) => p.key), ["NetworkPolicy/x/server"]);
    await enforcedAsBefore();
  });

  await t.step("unsupported rules are rejected, naming what would enable them", async () => {
    const path = await file(
      "l7.yaml",
      `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7, namespace: x}
spec:
  endpointSelector: {}
  egress:
    - toFQDNs: [{matchName: example.com}]
    - toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET}]}}]
`,
    );
    const r = await lab.hypha("n1", ["policy", "validate", path], { allowFail: true });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /egress\[0\]\.toFQDNs: .*not supported/);
    assert.match(r.stdout, /toPorts\[0\]\.rules: .*plugins\/mesh/);
    await enforcedAsBefore();
  });

  await t.step(
    "policy trace explains what the datapath does; bad trace input names the field",
    async () => {
      const trace = async (from: string, to: string, port: string) =>
        JSON.parse(
          (await lab.hypha("n1", [
            "policy",
            "trace",
            "--from",
            from,
            "--to",
            to,
            "--port",
            port,
            "-o",
            "json",
          ])).stdout,
        );
      const allowed = await trace("x/client", "x/server", "80/TCP");
      assert.equal(allowed.verdict, "allowed");
      assert.equal(allowed.egress.decidedBy, "not enforced");
      assert.match(allowed.ingress.decidedBy, /^NetworkPolicy\/x\/server .*ingress\[0\]/);
      const other = await trace("x/other", "x/server", "80/TCP");
      assert.equal(other.verdict, "denied");
      assert.equal(other.ingress.decidedBy, "default deny");
      assert.equal((await trace("x/client", "x/server", "81/TCP")).verdict, "denied");
      assert.equal((await trace("x/client", server.ip, "80/TCP")).verdict, "allowed");
      await enforcedAsBefore();
      for (
        const [args, message] of [
          [
            ["--from", "x/client", "--to", "x/server", "--port", "80/XTP"],
            /port "80\/XTP" must be/,
          ],
          [
            ["--from", "x/nobody", "--to", "x/server", "--port", "80/TCP"],
            /from "x\/nobody": no such pod/,
          ],
          [
            ["--from", "x/client", "--to", "bogus", "--port", "80/TCP"],
            /to "bogus" must be NS\/POD or an IP/,
          ],
        ] as const
      ) {
        const r = await lab.hypha("n1", ["policy", "trace", ...args], { allowFail: true });
        assert.equal(r.code, 1);
        assert.match(r.stderr, message);
      }
    },
  );

  await t.step(
    "endpoint get shows the computed policy with the rule behind each entry",
    async () => {
      const eps: Array<{ id: number; pod: string; node: string; identity: number }> = JSON.parse(
        (await lab.hypha("n2", ["endpoint", "list", "-o", "json"])).stdout,
      ).endpoints;
      const id = eps.find((e) => e.pod === "server" && e.node === "n2")!.id;
      const { endpoint } = JSON.parse(
        (await lab.hypha("n2", ["endpoint", "get", String(id), "-o", "json"])).stdout,
      );
      assert.deepEqual(endpoint.policy.selectedBy, ["NetworkPolicy/x/server"]);
      assert.equal(endpoint.policy.ingress.enforced, true);
      assert.equal(endpoint.policy.egress.enforced, false);
      const [entry, ...more] = endpoint.policy.ingress.entries;
      assert.equal(more.length, 0);
      assert.equal(entry.peer, eps.find((e) => e.pod === "client")!.identity);
      assert.equal(entry.peerLabels["k8s:app"], "client");
      assert.deepEqual([entry.protocol, entry.ports, entry.verdict], ["TCP", "80", "allow"]);
      assert.match(entry.rule, /^NetworkPolicy\/x\/server .*ingress\[0\]/);
    },
  );
});

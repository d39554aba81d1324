// Bad service input against a running cluster: every problem is rejected (or, for what the API
// accepts as Kubernetes does, reported) with the object and the field, nothing of a rejected
// request is stored, and the services that worked keep working: probes run throughout.
import assert from "node:assert/strict";
import { join } from "node:path";
import { rrClient } from "../lab/rr.ts";
import { addresses, applyServices, BACKEND_PORT, serviceOn, waitFor, webLab } from "./lb_lab.ts";

const GOOD = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: x }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: ${BACKEND_PORT}, nodePort: 30080 }]
`;

const service = (name: string, spec: string, annotations = "") => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: x${annotations ? `, annotations: { ${annotations} }` : ""} }
spec:
  selector: { app: web }
${spec}
`;

const BAD: Array<[string, string, RegExp]> = [
  [
    "an invalid port",
    service("p", "  ports: [{ port: 0, targetPort: 8080 }]"),
    /spec\.ports\[0\]\.port: Must be 1-65535, got 0/,
  ],
  [
    "an invalid target port",
    service("t", "  ports: [{ port: 80, targetPort: 70000 }]"),
    /spec\.ports\[0\]\.targetPort: Must be 1-65535, got 70000/,
  ],
  [
    "a NodePort outside the range",
    service("r", "  type: NodePort\n  ports: [{ port: 80, nodePort: 40000 }]"),
    /spec\.ports\[0\]\.nodePort: Must be 30000-32767 \(services\.nodePortRange\), got 40000/,
  ],
  [
    "a NodePort another service holds",
    service("taken", "  type: NodePort\n  ports: [{ port: 80, nodePort: 30080 }]"),
    /spec\.ports\[0\]\.nodePort: .*30080.*x\/web/,
  ],
  [
    "an invalid annotation value",
    service("a", "  ports: [{ port: 80 }]", "service.cilium.io/lb-algorithm: round-robin"),
    /metadata\.annotations\["service\.cilium\.io\/lb-algorithm"\]: Must be "random" or "maglev", got "round-robin"/,
  ],
  [
    "one bad document among good ones (nothing is applied)",
    service("fine", "  ports: [{ port: 80 }]") + "---" +
    service("worse", "  ports: [{ port: -1 }]"),
    /\[1\]\.spec\.ports\[0\]\.port: Must be 1-65535, got -1/,
  ],
];

Deno.test("lb bad input: rejected or reported with the field, other services keep working", async (t) => {
  await using scene = await webLab(GOOD);
  const { lab, a } = scene;
  const c = await lab.addPod("n2", "x/c", { labels: { app: "client" } });
  const web = await addresses(lab, "x/web");
  const file = async (text: string) => {
    const path = join(lab.dir, `bad-${crypto.randomUUID().slice(0, 8)}.yaml`);
    await Deno.writeTextFile(path, text);
    return path;
  };
  // probes through both paths for the whole test, stopped by its last step
  const stop = new AbortController();
  const probes = [
    rrClient(c.ns, {
      host: web.clusterIP!,
      port: 80,
      mode: "probe",
      durationS: 600,
      stop: stop.signal,
    }),
    rrClient(lab.external.ns, {
      host: lab.node("n1").ip,
      port: web.nodePort!,
      mode: "probe",
      durationS: 600,
      stop: stop.signal,
    }),
  ];
  // a failed step must not leave the probes running to their bound
  const finished = Promise.allSettled(probes);
  await using _ = { [Symbol.asyncDispose]: () => (stop.abort(), finished.then(() => {})) };

  for (const [what, text, want] of BAD) {
    await t.step(`${what}: rejected with its path, offline and by the agent`, async () => {
      const path = await file(text);
      const offline = await lab.hypha("n1", ["service", "validate", path], { allowFail: true });
      if (!what.includes("holds")) { // a conflict needs the cluster: only the agent knows
        assert.equal(offline.code, 1, offline.stderr);
        assert.match(offline.stdout, want);
      }
      const applied = await lab.hypha("n2", ["service", "apply", path], { allowFail: true });
      assert.notEqual(applied.code, 0, `apply of ${what} must fail`);
      assert.match(applied.stderr, want);
    });
  }

  await t.step("nothing of a rejected request was stored", async () => {
    for (const name of ["p", "t", "r", "taken", "a", "fine", "worse"]) {
      assert.equal(await serviceOn(lab, "n1", `x/${name}`), undefined, name);
    }
  });

  await t.step("an EndpointSlice for a service that does not exist is reported", async () => {
    await applyServices(
      lab,
      `
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ghost-1, namespace: x, labels: { kubernetes.io/service-name: ghost } }
addressType: IPv4
ports: [{ port: ${BACKEND_PORT} }]
endpoints: [{ addresses: [${a.ip}] }]
`,
    );
    await waitFor("the orphan slice is reported", async () => {
      const list = JSON.parse((await lab.hypha("n2", ["service", "list", "-o", "json"])).stdout);
      return list.problems.some((p: { object: string; message: string }) =>
        p.object === "EndpointSlice x/ghost-1" && /"x\/ghost" does not exist/.test(p.message)
      );
    });
  });

  await t.step(
    "a bad manifest written into the store directly is reported, not served",
    async () => {
      await lab.etcdctl([
        "put",
        `${lab.etcdBase}services/x/direct`,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "direct", namespace: "x" },
          spec: { selector: { app: "web" }, ports: [{ port: 99999 }] },
        }),
      ]);
      await waitFor("the direct write is reported as rejected", async () => {
        const list = JSON.parse((await lab.hypha("n1", ["service", "list", "-o", "json"])).stdout);
        return list.rejected.some((r: { name: string; issues: Array<{ path: string }> }) =>
          r.name === "direct" && r.issues.some((i) => i.path === "spec.ports[0].port")
        );
      });
      const text = (await lab.hypha("n1", ["service", "list"])).stdout;
      assert.match(text, /rejected Service x\/direct .*spec\.ports\[0\]\.port/);
    },
  );

  await t.step("the good service kept working throughout", async () => {
    stop.abort();
    for (const r of await Promise.all(probes)) {
      assert.equal(r.failed, 0, JSON.stringify(r.firstFailures));
      assert.ok(r.ok > 0);
    }
  });
});

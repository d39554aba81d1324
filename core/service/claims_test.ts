import assert from "node:assert/strict";
import { claimId, manifestClaims, ServiceClaimError, usageOf } from "./claims.ts";
import type { Service } from "./model.ts";

Deno.test("manifestClaims() reads a stored manifest leniently", () => {
  const claims = manifestClaims({
    spec: {
      clusterIPs: ["10.96.0.10", "FD00::0A", "None", 7],
      ports: [{ port: 80, nodePort: 30080 }, { protocol: "UDP", nodePort: 30080 }, {
        nodePort: 99999,
      }, null],
      healthCheckNodePort: 30080,
    },
  });
  assert.deepEqual(claims.map(claimId), [
    "clusterIP/10.96.0.10",
    "clusterIP/fd00::a",
    "nodePort/TCP/30080",
    "nodePort/UDP/30080",
  ]);
  assert.deepEqual(manifestClaims({ spec: { clusterIP: "10.96.0.1" } }).map(claimId), [
    "clusterIP/10.96.0.1",
  ]);
  assert.deepEqual(manifestClaims(null), []);
});

Deno.test("usageOf() maps every claim to its first holder", () => {
  const s = (name: string, ip: string, nodePort?: number) =>
    ({
      namespace: "default",
      name,
      clusterIPs: [ip],
      ports: [{ name: "", protocol: "TCP", port: 80, targetPort: 80, nodePort }],
    }) as unknown as Service;
  assert.deepEqual(
    Object.fromEntries(usageOf([s("a", "10.96.0.1", 30001), s("b", "10.96.0.1")])),
    { "clusterIP/10.96.0.1": "default/a", "nodePort/TCP/30001": "default/a" },
  );
  assert.equal(
    new ServiceClaimError("default/b", [{
      claim: { kind: "nodePort", protocol: "TCP", port: 30001 },
      holder: "default/a",
    }]).message,
    "Service default/b: node port 30001/TCP is held by service default/a",
  );
});

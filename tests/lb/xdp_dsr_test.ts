// Traffic from outside with native routing: the per-packet path in XDP (generic mode on the
// lab's veths), SNAT to remote backends, then direct server return. The external client and the
// backends send with checksum offload off, so every packet carries a full checksum that the
// receiver verifies: a translation that broke one would show as failed connections.
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import type { Lab } from "../lab/lab.ts";
import { run } from "../lab/netns.ts";
import { rrClient, rrWhoami } from "../lab/rr.ts";
import { addresses, answers, BACKEND_PORT, waitFor, waitLbRunning, webLab } from "./lb_lab.ts";

const SERVICE = `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: x }
spec:
  type: NodePort
  selector: { app: web }
  ports:
    - { name: tcp, port: 80, targetPort: ${BACKEND_PORT} }
    - { name: udp, port: 53, targetPort: ${BACKEND_PORT}, protocol: UDP }
`;

/** Runs of the XDP program pinned for node `node` (kernel program statistics). */
async function xdpRuns(lab: Lab, node: string): Promise<number> {
  const pin = `${lab.bpffs}/hypha/${node}/plugins/lb/links/xdp_eth0`;
  const link = JSON.parse((await run(["bpftool", "-j", "link", "show", "pinned", pin])).stdout);
  const prog = JSON.parse(
    (await run(["bpftool", "-j", "prog", "show", "id", String(link.prog_id)])).stdout,
  );
  return prog.run_cnt ?? 0;
}

/** Full-size segments both ways for 2 s, without a failure. */
async function bulk(ns: string, host: string, port: number): Promise<void> {
  const r = await rrClient(ns, {
    host,
    port,
    mode: "rr",
    durationS: 2,
    requestSize: 1400,
    responseSize: 60000,
  });
  assert.equal(r.failed, 0, `full-size segments both ways: ${JSON.stringify(r.firstFailures)}`);
  assert.ok(r.ok > 0);
}

async function setMode(lab: Lab, mode: "snat" | "dsr"): Promise<void> {
  for (const n of lab.nodes.values()) {
    const config = parse(await Deno.readTextFile(n.configFile));
    config.plugins.lb.mode = mode;
    await Deno.writeTextFile(n.configFile, stringify(config));
    await n.agent.stop();
    await n.agent.start();
  }
  await waitLbRunning(lab); // ready comes before the plugins have started with the new mode
}

Deno.test("lb: XDP and direct server return from outside (native routing)", async (t) => {
  await using scene = await webLab(SERVICE, {
    routing: "native",
    lb: { xdp: "generic", mode: "snat" },
  });
  const { lab, a, b } = scene;
  for (const ns of [lab.external.ns, a.ns, b.ns]) {
    await run(["ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off"]);
  }
  const { nodePort, frontends } = await addresses(lab, "x/web");
  const udpPort = Number(
    /:(\d+)\/UDP$/.exec(
      frontends.find((f) => f.frontend.endsWith("UDP") && f.kind === "NodePort")!
        .frontend,
    )![1],
  );
  const n1 = lab.node("n1");
  const ext = lab.external;
  const stats = (await run(["sysctl", "-n", "kernel.bpf_stats_enabled"])).stdout.trim();
  await run(["sysctl", "-w", "kernel.bpf_stats_enabled=1"]);
  try {
    await t.step("XDP balances, SNAT to the remote backend; checksums verify", async () => {
      const before = await xdpRuns(lab, "n1");
      assert.deepEqual(
        Object.keys(await answers(ext.ns, n1.ip, nodePort!, 16)).sort(),
        ["x/a", "x/b"],
      );
      assert.ok((await xdpRuns(lab, "n1")) > before, "the XDP program saw the traffic");
      const seen = new Set<string>();
      for (let i = 0; i < 16 && seen.size < 2; i++) {
        seen.add((await rrWhoami(ext.ns, n1.ip, nodePort!)).address);
      }
      assert.deepEqual([...seen].sort(), [ext.ip, n1.ip].sort(), "client kept locally, SNAT");
      const r = await rrClient(ext.ns, { host: n1.ip, port: nodePort!, mode: "crr", count: 300 });
      assert.equal(r.failed, 0, JSON.stringify(r.firstFailures));
      const u = await answers(ext.ns, n1.ip, udpPort, 12, { udp: true });
      assert.deepEqual(Object.keys(u).sort(), ["x/a", "x/b"]);
      await bulk(ext.ns, n1.ip, nodePort!);
    });

    await t.step("direct server return: the remote backend sees the client", async () => {
      await setMode(lab, "dsr");
      await waitFor("the agents serve again", async () => {
        const r = await answers(ext.ns, n1.ip, nodePort!, 1);
        return !Object.keys(r)[0]!.startsWith("!");
      });
      const seen = new Set<string>();
      for (let i = 0; i < 16; i++) seen.add((await rrWhoami(ext.ns, n1.ip, nodePort!)).address);
      assert.deepEqual([...seen], [ext.ip], "every backend sees the client's address");
      const answered = await answers(ext.ns, n1.ip, nodePort!, 16);
      assert.deepEqual(Object.keys(answered).sort(), ["x/a", "x/b"]);
      const r = await rrClient(ext.ns, { host: n1.ip, port: nodePort!, mode: "crr", count: 300 });
      assert.equal(r.failed, 0, JSON.stringify(r.firstFailures));
      const u = await answers(ext.ns, n1.ip, udpPort, 12, { udp: true });
      assert.deepEqual(Object.keys(u).sort(), ["x/a", "x/b"]);
      await bulk(ext.ns, n1.ip, nodePort!);
    });
  } finally {
    await run(["sysctl", "-w", `kernel.bpf_stats_enabled=${stats}`]);
  }
});

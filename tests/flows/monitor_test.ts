// The monitor levels decide how many events one connection costs (like Cilium's monitor
// aggregation), set from config and written into the datapath's node config: checked by
// counting the events of one 200-request connection at each level, and the drop-event budget.
import assert from "node:assert/strict";
import { join } from "node:path";
import YAML from "yaml";
import { ApiClient } from "../../core/api/client.ts";
import { type Flow, MONITOR_TYPE } from "../../core/flows/flow.ts";
import { Lab } from "../lab/lab.ts";
import { rrClient, rrServe } from "../lab/rr.ts";
import { waitFor } from "../lab/wait.ts";

Deno.test("flows: monitor levels aggregate a connection's packets into fewer events", async (t) => {
  await using lab = await Lab.create({ nodes: 1 });
  const node = lab.node("n1");
  const configure = async (observability: Record<string, unknown>) => {
    const cfg = YAML.parse(await Deno.readTextFile(node.configFile));
    await Deno.writeTextFile(node.configFile, YAML.stringify({ ...cfg, observability }));
    await node.agent.stop();
    await node.agent.start();
  };
  await lab.startAgents();
  const client = await lab.addPod("n1", "x/client", { labels: { app: "client" } });
  const server = await lab.addPod("n1", "x/server", { labels: { app: "server" } });
  await using _s = await rrServe(server.ns, { port: 80 });

  /** The events of one new connection of `requests` request/response pairs. */
  const eventsOfOneConnection = async (requests: number) => {
    const r = await rrClient(client.ns, {
      host: server.ip,
      port: 80,
      mode: "rr",
      count: requests,
      durationS: 20,
    });
    assert.equal(r.ok, requests);
    // The agent reads the events behind the traffic: wait until the connection's close is in
    // (reported at every level) and its count holds still over one more poll.
    let events: Flow[] = [];
    let previous = -1;
    await waitFor("the connection's events are all read", async () => {
      events = await newestConnection();
      const closed = events.some((f) => "TCP" in f.l4! && f.l4.TCP.flags?.FIN);
      const settled = closed && events.length === previous;
      previous = events.length;
      return settled;
    });
    return events;
  };
  const newestConnection = async () => {
    const out = await lab.hypha("n1", ["observe", "-o", "json", "--last", "5000"]);
    const flows = out.stdout.split("\n").filter((l) => l.trim())
      .map((l) => JSON.parse(l).flow as Flow)
      .filter((f) => f.l4 && "TCP" in f.l4 && f.event_type.type === MONITOR_TYPE.trace);
    // the newest connection: its client port is the one of the last flow from the client
    const last = flows.findLast((f) => f.IP?.source === client.ip);
    if (!last) return [];
    const port = "TCP" in last.l4! ? last.l4.TCP.source_port : 0;
    return flows.filter((f) =>
      f.l4 && "TCP" in f.l4 &&
      (f.l4.TCP.source_port === port || f.l4.TCP.destination_port === port)
    );
  };
  /** Events the datapath has put into the ring buffer since its maps were created. */
  const sent = async () => {
    using api = new ApiClient({ socket: node.socket });
    return (await api.json<{ datapath: { sent: number } }>("GET", "/v1/flows/stats")).datapath
      .sent;
  };

  const counts: Record<string, number> = {};
  for (const level of ["none", "low", "medium", "maximum"]) {
    await t.step(`level ${level}`, async () => {
      await configure({ monitor: { level, interval: 3600 } });
      const events = await eventsOfOneConnection(200);
      counts[level] = events.length;
      assert.ok(events.some((f) => f.l4 && "TCP" in f.l4 && f.l4.TCP.flags?.SYN), "the new one");
    });
  }

  await t.step("none reports every packet; each level reports fewer", () => {
    // one pod to another on one node: each packet passes the sender's and the receiver's veth
    assert.ok(counts.none! >= 400, JSON.stringify(counts));
    assert.ok(counts.low! < counts.none! / 10, JSON.stringify(counts));
    assert.ok(counts.medium! <= counts.low!, JSON.stringify(counts));
    assert.ok(counts.maximum! <= counts.medium!, JSON.stringify(counts));
    assert.ok(counts.maximum! <= 8, JSON.stringify(counts));
  });

  await t.step("off reports nothing", async () => {
    await configure({ monitor: { level: "off" } }); // a restarted agent's store starts empty
    const before = await sent();
    const r = await rrClient(client.ns, { host: server.ip, port: 80, mode: "rr", count: 50 });
    assert.equal(r.ok, 50);
    // the datapath's own count: nothing was emitted, so there is nothing still on its way
    assert.equal(await sent(), before, "events emitted at level off");
    const after = await lab.hypha("n1", ["observe", "-o", "json", "--last", "10"]);
    assert.equal(after.stdout.trim(), "", "no flows at level off");
  });

  await t.step("drop events stop at the budget; the drops are counted", async () => {
    await configure({ monitor: { level: "medium" }, dropEventsPerSecond: 2 });
    const file = join(lab.dir, "deny.yaml");
    await Deno.writeTextFile(
      file,
      `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {matchLabels: {app: server}}, policyTypes: [Ingress]}
`,
    );
    await lab.hypha("n1", ["policy", "apply", file]);
    await waitFor("the server is unreachable", async () =>
      (await rrClient(client.ns, {
        host: server.ip,
        port: 80,
        mode: "probe",
        count: 1,
        timeoutMs: 200,
      })).ok === 0);
    // 40 denied connection attempts within about a second
    await rrClient(client.ns, {
      host: server.ip,
      port: 80,
      mode: "probe",
      count: 40,
      intervalMs: 20,
      timeoutMs: 20,
    });
    // the drop events are read behind the traffic: wait until their count holds still
    let drops = 0;
    let previous = -1;
    await waitFor("the drop events are read", async () => {
      drops = (await lab.hypha("n1", ["observe", "--type", "drop", "-o", "json", "--last", "1000"]))
        .stdout.split("\n").filter((l) => l.trim()).length;
      const settled = drops > 0 && drops === previous;
      previous = drops;
      return settled;
    });
    using api = new ApiClient({ socket: node.socket });
    const metrics = await api.text("/metrics");
    const limited = Number(metrics.match(/^hypha_flow_drop_events_limited_total (\d+)/m)?.[1]);
    const dropped = Number(
      metrics.match(/^hypha_drop_packets_total\{reason="POLICY_DENIED",direction="\w+"\} (\d+)/m)
        ?.[1],
    );
    // 2 per second and CPU: the probes took about 1-2 s on at most a few CPUs
    assert.ok(drops > 0 && drops <= 2 * 3 * navigator.hardwareConcurrency, `${drops} drop events`);
    assert.ok(limited > 0, "the rest are counted as limited");
    assert.ok(dropped >= 40, `${dropped} drops counted`);
  });
});

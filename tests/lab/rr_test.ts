// rr between two namespaces joined by a veth pair (addresses only inside the namespaces).
// Needs root and the rr binary: `deno run -A scripts/build_tools.ts` first.
import assert from "node:assert/strict";
import { ip, listNetns, run } from "./netns.ts";
import { snmpCounter } from "./traffic.ts";
import { waitFor } from "./wait.ts";
import { rrClient, rrName, type RrResult, rrServe, rrWhoami, sctpUnsupported } from "./rr.ts";

interface Pair {
  prefix: string;
  client: { ns: string; ip: string; ip6: string };
  server: { ns: string; ip: string; ip6: string };
}

/** Deletes the pair's namespaces, killing anything a failed test left running in them. */
async function deletePair(prefix: string): Promise<void> {
  for (const ns of (await listNetns()).filter((n) => n.startsWith(`${prefix}-`))) {
    const pids = (await run(["ip", "netns", "pids", ns], { allowFail: true })).stdout.split(/\s+/)
      .filter(Boolean);
    if (pids.length) await run(["kill", "-KILL", ...pids], { allowFail: true });
    await run(["ip", "netns", "del", ns], { allowFail: true });
  }
}

async function createPair(): Promise<Pair> {
  const id = crypto.getRandomValues(new Uint8Array(2));
  const hex = [...id].map((b) => b.toString(16).padStart(2, "0")).join("");
  const prefix = `rrt-${hex}`;
  const net = `10.123.${id[0]}`;
  // The canonical text (no leading zeros in a group), as the kernel reports addresses back.
  const group = ((id[0]! << 8) | id[1]!).toString(16);
  const pair = {
    prefix,
    client: { ns: `${prefix}-a`, ip: `${net}.1`, ip6: `fd00:123:${group}::1` },
    server: { ns: `${prefix}-b`, ip: `${net}.2`, ip6: `fd00:123:${group}::2` },
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
      await ip(side.ns, "-6", "addr", "add", `${side.ip6}/64`, "dev", "eth0", "nodad");
      await ip(side.ns, "link", "set", "eth0", "up");
      await ip(side.ns, "link", "set", "lo", "up");
    }
  } catch (err) {
    await deletePair(prefix);
    throw err;
  }
  return pair;
}

function assertNoFailures(r: RrResult): void {
  assert.equal(r.failed, 0, `failures: ${JSON.stringify(r.firstFailures)}`);
  assert.equal(r.attempts, r.ok);
  assert.equal(r.watchdog, false);
  assert.ok(r.latencyUs && r.latencyUs.p50 > 0 && r.latencyUs.p50 <= r.latencyUs.p99);
  assert.ok(r.latencyUs.p99 <= r.latencyUs.max);
}

const PORT = 5201;

Deno.test("rr measures rr, crr and probe between namespaces and answers name and whoami", async (t) => {
  const pair = await createPair();
  const { client, server } = pair;
  try {
    await using srv = await rrServe(server.ns, { port: PORT, name: "rrt-server", udp: true });
    assert.equal(srv.port, PORT);

    // Counts, not rates: a shared 2-core machine makes any "so many per second" flaky (rates are
    // the benchmarks' business).
    await t.step("rr: 2 persistent connections share 2000 transactions", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT,
        mode: "rr",
        streams: 2,
        count: 2000,
        durationS: 60,
      });
      assertNoFailures(r);
      assert.equal(r.ok, 2000);
      assert.equal(r.connects, 2);
    });

    await t.step("a run ends at its duration, within rr's own bound", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT,
        mode: "rr",
        durationS: 1,
      });
      assertNoFailures(r);
      assert.ok(r.ok > 0);
      // rr's watchdog bound: duration + timeout (1 s) + 4 s
      assert.ok(r.durationS >= 1 && r.durationS < 6, `duration: ${r.durationS}`);
    });

    await t.step("crr: 4 connect loops, 400 connections, one each", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT,
        mode: "crr",
        streams: 4,
        count: 400,
        durationS: 60,
      });
      assertNoFailures(r);
      assert.equal(r.ok, 400);
      assert.equal(r.connects, r.ok);
    });

    await t.step("crr: 200 concurrent connect loops over IPv6 without failures", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip6,
        port: PORT,
        mode: "crr",
        streams: 200,
        count: 1000,
        durationS: 60,
        timeoutMs: 3_000,
      });
      assertNoFailures(r);
      assert.equal(r.ok, 1000);
    });

    await t.step("probe: every attempt succeeds", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT,
        mode: "probe",
        intervalMs: 50,
        count: 10,
      });
      assertNoFailures(r);
      assert.equal(r.attempts, 10);
      assert.equal(r.maxConsecutiveFailures, 0);
    });

    await t.step("count ends a run before its duration", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT,
        mode: "rr",
        count: 500,
        requestSize: 100,
        responseSize: 20_000,
      });
      assertNoFailures(r);
      assert.equal(r.ok, 500);
      assert.deepEqual([r.requestSize, r.responseSize], [100, 20_000]);
    });

    await t.step("name and whoami over TCP and UDP, IPv4 and IPv6", async () => {
      assert.equal(await rrName(client.ns, server.ip, PORT), "rrt-server");
      assert.equal(await rrName(client.ns, server.ip6, PORT, { udp: true }), "rrt-server");
      const me = await rrWhoami(client.ns, server.ip, PORT);
      assert.equal(me.address, client.ip);
      assert.ok(me.port > 0);
      assert.equal((await rrWhoami(client.ns, server.ip6, PORT)).address, client.ip6);
      assert.equal((await rrWhoami(client.ns, server.ip, PORT, { udp: true })).address, client.ip);
    });

    await t.step("UDP rr: 2000 transactions", async () => {
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT,
        mode: "rr",
        udp: true,
        count: 2000,
        durationS: 60,
      });
      assert.equal(r.proto, "udp");
      assert.equal(r.ok, 2000, `failures: ${JSON.stringify(r.firstFailures)}`);
    });

    await t.step("probe without a server counts refused connections", async () => {
      const started = Date.now();
      const r = await rrClient(client.ns, {
        host: server.ip,
        port: PORT + 1,
        mode: "probe",
        count: 3,
        intervalMs: 50,
        timeoutMs: 500,
      });
      assert.deepEqual([r.attempts, r.ok, r.failed, r.failures.refused], [3, 0, 3, 3]);
      assert.equal(r.latencyUs, null);
      assert.equal(r.firstFailures.length, 3);
      assert.equal(r.firstFailures[0]?.kind, "refused");
      assert.ok(Date.now() - started < 10_000, "refusals do not wait for the timeout");
      await assert.rejects(rrName(client.ns, server.ip, PORT + 1), /refused/);
    });

    await t.step("probe to an address nobody answers ends after its timeouts", async () => {
      const started = Date.now();
      const r = await rrClient(client.ns, {
        host: server.ip.replace(/\.2$/, ".99"),
        port: PORT,
        mode: "probe",
        count: 2,
        intervalMs: 50,
        timeoutMs: 300,
      });
      assert.deepEqual([r.ok, r.failed, r.failures.timeout], [0, 2, 2]);
      // 2 x 300 ms of timeouts; the bound is rr's (duration + timeout + 10 s in rrClient)
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    });

    await t.step("probe sees the gap while the server restarts, and recovers", async () => {
      // Each phase lasts until the server's namespace has seen the probe's attempts (its TCP
      // counters), and the probe runs until told to stop: no phase depends on timing.
      const seen = async (counter: "PassiveOpens" | "OutRsts", more: number) => {
        const from = await snmpCounter(server.ns, "Tcp", counter);
        await waitFor(
          `${more} more ${counter} in the server's namespace`,
          async () => (await snmpCounter(server.ns, "Tcp", counter)) >= from + more,
          20_000,
          20,
        );
      };
      const first = await rrServe(server.ns, { port: PORT + 2 });
      const stop = new AbortController();
      const probe = rrClient(client.ns, {
        host: server.ip,
        port: PORT + 2,
        mode: "probe",
        intervalMs: 20,
        timeoutMs: 200,
        durationS: 120,
        stop: stop.signal,
      });
      try {
        await seen("PassiveOpens", 5);
        await first.stop();
        await seen("OutRsts", 3); // refused: a reset for each SYN
        const second = await rrServe(server.ns, { port: PORT + 2 });
        await seen("PassiveOpens", 5);
        stop.abort();
        await second.stop();
      } finally {
        stop.abort();
        await first.stop();
      }
      const r = await probe;
      assert.ok(r.failures.refused >= 3, JSON.stringify(r.failures));
      // A probe in flight when the server exits may see a reset or a short read instead.
      const { refused, reset, short_read } = r.failures;
      assert.equal(r.failed, refused + reset + short_read, JSON.stringify(r.firstFailures));
      assert.ok(r.ok >= 10, `ok: ${r.ok}`);
      assert.ok(r.maxConsecutiveFailures < r.attempts);
      assert.ok(r.durationS < 120, "the run ended when told, not at its duration");
    });

    const stats = await srv.stop();
    assert.ok(stats && stats.connections > 1000 && stats.transactions > 2000, `${stats}`);
    assert.ok(stats.datagrams >= 2000);
  } finally {
    await deletePair(pair.prefix);
  }
  assert.deepEqual((await listNetns()).filter((n) => n.startsWith(pair.prefix)), []);
});

Deno.test("rrServe() reports a port that is already taken", async () => {
  const pair = await createPair();
  try {
    await using _srv = await rrServe(pair.server.ns, { port: PORT, bind: pair.server.ip });
    await assert.rejects(
      rrServe(pair.server.ns, { port: PORT, bind: pair.server.ip }),
      /exited with code 1: .*Address already in use/,
    );
  } finally {
    await deletePair(pair.prefix);
  }
});

// The conformance lab skips SCTP cells on this answer: it must be the kernel's, not a guess.
Deno.test("sctpUnsupported() gives the kernel's answer; with SCTP, rr speaks it end to end", async () => {
  const pair = await createPair();
  try {
    const why = await sctpUnsupported(pair.server.ns);
    // a successful SCTP socket registers the protocol (loading the module if need be)
    const registered = /^SCTP\s/m.test(await Deno.readTextFile("/proc/net/protocols"));
    if (why !== undefined) {
      assert.match(
        why,
        /^this kernel has no SCTP: an SCTP socket in rrt-.* failed with "Protocol not supported"/,
      );
      assert.equal(registered, false, "the kernel lists SCTP, yet the socket failed");
      return;
    }
    assert.equal(registered, true);
    await using srv = await rrServe(pair.server.ns, { port: PORT, name: "rrt-sctp", sctp: true });
    assert.equal(await rrName(pair.client.ns, pair.server.ip, PORT, { sctp: true }), "rrt-sctp");
    const r = await rrClient(pair.client.ns, {
      host: pair.server.ip6,
      port: srv.port,
      mode: "probe",
      count: 3,
      intervalMs: 10,
      sctp: true,
    });
    assert.equal(r.proto, "sctp");
    assertNoFailures(r);
  } finally {
    await deletePair(pair.prefix);
  }
});

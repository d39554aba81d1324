// One side of the peer TLS benchmark (peer_tls_bench.ts), run inside a lab node's namespace:
//
//   peer_node.ts serve FLOWS.json IP TLS_PORT PLAIN_PORT CA CERT KEY
//     a flow store holding the flows of FLOWS.json, served by the agent's peer listener code
//     twice: mutual TLS on TLS_PORT, plain HTTP on PLAIN_PORT. Prints {"event":"listening"},
//     serves until SIGTERM.
//   peer_node.ts ask IP TLS_PORT PLAIN_PORT CA CERT KEY ROUNDS
//     the cluster view's client code (queryCluster) against both, alternating which goes first
//     each round. Prints one JSON line of samples per mode and measure.
import { compileFilters } from "../../core/flows/filter.ts";
import type { Flow } from "../../core/flows/flow.ts";
import { queryCluster } from "../../core/flows/peer_client.ts";
import { servePeer } from "../../core/flows/peer_server.ts";
import { parseFlowQuery } from "../../core/flows/query.ts";
import { FlowStore } from "../../core/flows/store.ts";
import { loadTlsMaterial, mutualTlsClientOptions } from "../../core/tls/mod.ts";

const MAX_FLOWS = 10_000;
const [role, ...args] = Deno.args;

if (role === "serve") {
  const [file, ip, tlsPort, plainPort, ca, cert, key] = args as string[];
  const flows = JSON.parse(await Deno.readTextFile(file!)) as Flow[];
  const store = new FlowStore({ capacity: Math.max(100, flows.length), nodeName: "n2" });
  for (const f of flows) store.add(f);
  const opts = {
    nodeName: "n2",
    maxFlows: MAX_FLOWS,
    query: (q: ReturnType<typeof parseFlowQuery>) =>
      store.query(compileFilters(q.filters), {
        ...(q.last !== undefined ? { last: q.last } : {}),
        ...(q.first !== undefined ? { first: q.first } : {}),
      }),
  };
  const tls = await loadTlsMaterial({ ca: ca!, cert: cert!, key: key! }, "bench");
  const servers = [
    await servePeer(`${ip}:${tlsPort}`, { ...opts, tls }),
    await servePeer(`${ip}:${plainPort}`, opts),
  ];
  console.log(JSON.stringify({ event: "listening", stored: store.size }));
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", () => stop.resolve());
  await stop.promise;
  await Promise.all(servers.map((s) => s.close()));
} else if (role === "ask") {
  const [ip, tlsPort, plainPort, ca, cert, key, roundsText] = args as string[];
  const rounds = Number(roundsText);
  const material = await loadTlsMaterial({ ca: ca!, cert: cert!, key: key! }, "bench");
  const peer = [{ name: "n2", addresses: [ip!] }];
  // each mode with HttpClients of its own, so "new" really is a new connection
  const modes = {
    plain: { port: Number(plainPort), tls: false, client: () => Deno.createHttpClient({}) },
    tls: {
      port: Number(tlsPort),
      tls: true,
      client: () => Deno.createHttpClient(mutualTlsClientOptions(material)),
    },
  };
  type Mode = keyof typeof modes;
  const ask = async (mode: Mode, qs: string, client: Deno.HttpClient) => {
    const r = await queryCluster(
      { name: "n1", flows: [] },
      peer,
      parseFlowQuery(new URLSearchParams(qs)),
      {
        port: modes[mode].port,
        maxFlows: MAX_FLOWS,
        insecure: true,
        timeoutMs: 60_000,
        tls: modes[mode].tls,
        client,
      },
    );
    if (!r.nodes[1]?.ok) throw new Error(`${mode}: ${r.nodes[1]?.error}`);
    return r.flows.length;
  };
  const samples: Record<string, number[]> = {};
  const put = (key: string, v: number) => (samples[key] ??= []).push(v);
  for (let round = 0; round < rounds; round++) {
    const order: Mode[] = round % 2 ? ["tls", "plain"] : ["plain", "tls"];
    for (const mode of order) {
      // one client for the round: connections are kept and reused, as the agent's are
      const client = modes[mode].client();
      try {
        await ask(mode, "last=1", client); // connect (and handshake) before timing
        let t = performance.now();
        let flows = 0;
        for (let i = 0; i < 5; i++) flows += await ask(mode, `last=${MAX_FLOWS}`, client);
        put(`${mode} full`, flows / ((performance.now() - t) / 1000));
        t = performance.now();
        for (let i = 0; i < 100; i++) await ask(mode, "last=20", client);
        put(`${mode} small`, 100 / ((performance.now() - t) / 1000));
      } finally {
        client.close();
      }
      // a new connection per query: what a cluster view pays after its connections idled out
      const t = performance.now();
      for (let i = 0; i < 30; i++) {
        const fresh = modes[mode].client();
        try {
          await ask(mode, "last=20", fresh);
        } finally {
          fresh.close();
        }
      }
      put(`${mode} new`, 30 / ((performance.now() - t) / 1000));
    }
  }
  console.log(JSON.stringify(samples));
} else {
  console.error("usage: peer_node.ts serve|ask ...");
  Deno.exit(2);
}

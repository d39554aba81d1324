import assert from "node:assert/strict";
import { UsageError } from "./args.ts";
import { ui } from "./ui.ts";

const io = () => {
  const out: string[] = [];
  return { out, io: { out: (t: string) => out.push(t), err: (t: string) => out.push(t) } };
};

Deno.test("hypha ui serves the agent's UI on loopback until stopped", async () => {
  const dir = await Deno.makeTempDir();
  const socket = `${dir}/api.sock`;
  const agent = Deno.serve(
    { path: socket, transport: "unix", onListen: () => {} },
    (req) => new Response(`page ${new URL(req.url).pathname}`),
  );
  try {
    const { out, io: sink } = io();
    const stop = new AbortController();
    const running = ui({ socket }, "127.0.0.1:0", sink, stop.signal);
    await new Promise((r) => setTimeout(r, 100));
    const url = out[0]!.match(/http:\/\/\S+/)![0];
    assert.equal(await (await fetch(url)).text(), "page /ui/");
    const post = await fetch(url, { method: "POST" });
    await post.body?.cancel();
    assert.equal(post.status, 405, "read-only");
    stop.abort();
    assert.equal(await running, 0);
  } finally {
    await agent.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hypha ui refuses a non-loopback or malformed --listen and a TCP target", async () => {
  const { io: sink } = io();
  await assert.rejects(ui({ socket: "/x.sock" }, "0.0.0.0:12000", sink), UsageError);
  await assert.rejects(ui({ socket: "/x.sock" }, "localhost", sink), /HOST:PORT/);
  await assert.rejects(ui({ url: "http://n1:9962", token: "t" }, undefined, sink), /--server/);
});

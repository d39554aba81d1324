// Runs the C datapath unit tests (bpf/tests/*_test.c, built into bpf/build/tests) through
// BPF_PROG_TEST_RUN: for each test NAME, PKTGEN builds the packet, SETUP fills maps and runs the
// entry program, CHECK asserts on the verdict, the packet and the maps (see bpf/tests/lib/test.h).
// Each check is its own test step; a failure prints the failed condition and the packet.
import { join } from "node:path";
import { BpfObject, testRun } from "../../core/bpf/mod.ts";

const BUILD = join(import.meta.dirname!, "../build/tests");
const PKTGEN_SEED = new Uint8Array(64); // the skb PKTGEN starts from; it resizes it

function hexdump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = [...bytes.subarray(off, off + 16)].map((b) => b.toString(16).padStart(2, "0"));
    lines.push(`  ${off.toString(16).padStart(4, "0")}  ${row.join(" ")}`);
  }
  return lines.join("\n");
}

/** Clears every map the test can observe; test_entries (the prog array) keeps its programs. */
function resetMaps(obj: BpfObject): void {
  for (const spec of obj.maps()) {
    if (spec.type === "prog_array" || spec.type === "ringbuf") continue;
    using map = obj.rawMap(spec.name);
    if (spec.type.includes("array")) {
      const zero = new Uint8Array(map.lookup(new Uint8Array(spec.keySize))?.length ?? 0);
      for (let i = 0; i < spec.maxEntries; i++) {
        const key = new Uint8Array(new Uint32Array([i]).buffer);
        map.update(key, zero);
      }
    } else {
      for (const key of [...map.keys()]) map.delete(key);
    }
  }
}

function failureMessage(obj: BpfObject, name: string, packet: Uint8Array): string {
  using messages = obj.rawMap("test_messages");
  const raw = messages.lookup(new Uint8Array(4)) ?? new Uint8Array(128);
  const view = new DataView(raw.buffer, raw.byteOffset);
  const text = new TextDecoder().decode(raw.subarray(8)).replace(/\0.*$/s, "");
  const where = view.getUint32(4, true) ? `line ${view.getUint32(0, true)}: ${text}` : "no message";
  return `check ${name} failed: ${where}\npacket (${packet.length} bytes):\n${hexdump(packet)}`;
}

function runCase(obj: BpfObject, name: string, programs: Set<string>): void {
  resetMaps(obj);
  const gen = testRun(obj.program(`pktgen__${name}`), { data: PKTGEN_SEED });
  if (gen.retval !== 0) throw new Error(`pktgen ${name} failed (returned ${gen.retval})`);
  let verdict = 0;
  let packet = gen.data;
  if (programs.has(`setup__${name}`)) {
    const setup = testRun(obj.program(`setup__${name}`), { data: packet });
    verdict = setup.retval;
    packet = setup.data;
  }
  const input = new Uint8Array(4 + packet.length);
  new DataView(input.buffer).setUint32(0, verdict >>> 0, true);
  input.set(packet, 4);
  const check = testRun(obj.program(`check__${name}`), { data: input });
  if (check.retval !== 0) throw new Error(failureMessage(obj, name, packet));
}

const objects = [...Deno.readDirSync(BUILD)].filter((e) => e.name.endsWith(".o"))
  .map((e) => e.name).sort();

for (const file of objects) {
  Deno.test(`datapath ${file.replace(/\.o$/, ".c")}`, async (t) => {
    using obj = BpfObject.open(join(BUILD, file));
    obj.load();
    const programs = new Set(obj.programNames());
    const cases = [...programs].filter((p) => p.startsWith("check__")).map((p) => p.slice(7));
    if (cases.length === 0) throw new Error(`${file} defines no CHECK programs`);
    for (const name of cases) {
      await t.step(name, () => runCase(obj, name, programs));
    }
  });
}

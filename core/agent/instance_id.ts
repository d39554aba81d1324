// The node's instance id: a random id of its state directory, created once, that tells the
// cluster store a restart of this agent from a second agent under the same node name. It is
// kept twice: in `<stateDir>/instance` and as the name of a directory in the node's bpffs pin
// directory (`<pinDir>/instance_<id>`; bpffs names hold no dots), which lives as long as the
// pinned datapath. When the file is damaged the pinned copy restores it, so a restart is not
// mistaken for an impostor.
import { join } from "node:path";
import { damagedStateFiles, readStateText, writeStateFile } from "../state_files/mod.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PINNED = /^instance_([0-9a-f-]{36})$/;

function parseInstance(text: string): string {
  const id = text.trim();
  if (!UUID.test(id)) throw new Error(`"${id.slice(0, 40)}" is not an instance id (a UUID)`);
  return id;
}

async function pinnedIds(pinDir: string): Promise<string[]> {
  try {
    const ids: string[] = [];
    for await (const e of Deno.readDir(pinDir)) {
      const m = PINNED.exec(e.name);
      if (e.isDirectory && m && UUID.test(m[1]!)) ids.push(m[1]!);
    }
    return ids;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** This node's instance id (see the top of this file); creates it on the first start. */
export async function instanceId(stateDir: string, pinDir: string): Promise<string> {
  const file = join(stateDir, "instance");
  const r = await readStateText(file, parseInstance);
  const pinned = await pinnedIds(pinDir);
  let id: string;
  if (r.kind === "ok") id = r.value;
  else {
    const only = pinned.length === 1 ? pinned[0] : undefined;
    id = only ?? crypto.randomUUID();
    if (r.kind === "damaged") {
      damagedStateFiles.report(
        file,
        r.problem,
        only
          ? `restored from the pinned copy (${id})`
          : `no single pinned copy (${pinned.length} found): a new instance id ${id}; if the ` +
            "cluster store reports a conflict, wait for the old registration's lease to expire",
      );
    }
    await writeStateFile(file, id, { mode: 0o644 });
  }
  await Deno.mkdir(pinDir, { recursive: true });
  for (const other of pinned) {
    if (other !== id) await Deno.remove(join(pinDir, `instance_${other}`)).catch(() => {});
  }
  if (!pinned.includes(id)) await Deno.mkdir(join(pinDir, `instance_${id}`));
  return id;
}

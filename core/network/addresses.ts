// The node's own underlay addresses: configured, or the first global address of the first
// datapath device.
import { ipJson } from "../netlink/mod.ts";

interface IpAddr {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; scope: string }>;
}

export async function deviceAddresses(
  device: string,
): Promise<{ v4: string | undefined; v6: string | undefined }> {
  const [link] = await ipJson<IpAddr>(["addr", "show", "dev", device]);
  const info = link?.addr_info ?? [];
  return {
    v4: info.find((a) => a.family === "inet" && a.scope === "global")?.local,
    v6: info.find((a) => a.family === "inet6" && a.scope === "global")?.local,
  };
}

// The pod datapath: bpf_lxc.o on the host side of every endpoint veth and bpf_overlay.o on the
// VXLAN device. Both objects reuse the maps bpf_host.o pinned (load HostDatapath first), and
// their attachments are pinned links, so pods keep forwarding while the agent is down.
import { bpfObjectBytes } from "../assets.ts";
import { BpfObject, type TcMode } from "../bpf/mod.ts";
import { ATTACHMENT_OWNERS, type HostDirs } from "./host.ts";
import { type AttachmentStatus, TcAttachments } from "./tc_attachments.ts";

const LXC = { ingress: "hypha_lxc_from_container", egress: "hypha_lxc_to_container" } as const;
const OVERLAY = { ingress: "hypha_overlay_ingress", egress: "hypha_overlay_egress" } as const;

export interface EndpointAttach {
  ingress: "attached" | "replaced" | "unchanged";
  egress: "attached" | "replaced" | "unchanged";
}

export class PodDatapath implements Disposable {
  readonly #lxc: BpfObject;
  readonly #overlay: BpfObject;
  readonly #endpoints: TcAttachments;
  readonly #tunnel: TcAttachments;

  private constructor(lxc: BpfObject, overlay: BpfObject, dirs: HostDirs, mode: TcMode) {
    this.#lxc = lxc;
    this.#overlay = overlay;
    this.#endpoints = new TcAttachments(dirs, mode, "lxc", ATTACHMENT_OWNERS.lxc);
    this.#tunnel = new TcAttachments(dirs, mode, "ovl", ATTACHMENT_OWNERS.ovl);
  }

  static load(dirs: HostDirs, mode: TcMode): PodDatapath {
    const objects: BpfObject[] = [];
    try {
      for (const name of ["bpf_lxc", "bpf_overlay"]) {
        const obj = BpfObject.open(bpfObjectBytes(name), { name: `${name}.o` });
        objects.push(obj);
        obj.pinMaps(dirs.mapsDir);
        obj.load();
      }
      return new PodDatapath(objects[0]!, objects[1]!, dirs, mode);
    } catch (err) {
      for (const o of objects) o.close();
      throw err;
    }
  }

  /** Attaches (or adopts) from-container/to-container on an endpoint's host-side veth. */
  attachEndpoint(ifname: string): EndpointAttach {
    return {
      ingress: this.#endpoints.attach({
        ifname,
        direction: "ingress",
        program: this.#lxc.program(LXC.ingress),
      }),
      egress: this.#endpoints.attach({
        ifname,
        direction: "egress",
        program: this.#lxc.program(LXC.egress),
      }),
    };
  }

  detachEndpoint(ifname: string): number {
    return this.#endpoints.detachInterface(ifname);
  }

  /** Host-side veths that have endpoint programs pinned. */
  endpointInterfaces(): Set<string> {
    return this.#endpoints.interfaces();
  }

  /** Attaches the overlay programs to the tunnel device, or detaches them (native routing). */
  reconcileTunnel(device: string | undefined) {
    return this.#tunnel.reconcile(
      device
        ? (["ingress", "egress"] as const).map((direction) => ({
          ifname: device,
          direction,
          program: this.#overlay.program(OVERLAY[direction]),
        }))
        : [],
    );
  }

  attachments(): AttachmentStatus[] {
    return [...this.#tunnel.list(), ...this.#endpoints.list()];
  }

  close(): void {
    this.#lxc.close();
    this.#overlay.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

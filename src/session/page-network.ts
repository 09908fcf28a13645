// Each VM's network on the page: a port on the page's VirtualSwitch with net=switch, else our
// NIC on one of v86's adapters (or none). Each VM keeps one MAC for the page's life, so a VM
// restarted in place is the same host to its peers.

import { randomMac } from "../devices/net/mac.ts";
import { VirtualSwitch } from "../devices/net/switch.ts";
import { createNetwork, createSwitchedNetwork, type GuestNetwork } from "../machine/network.ts";
import type { PageSettings } from "./settings.ts";

export interface PageNetworks {
  /** The switch the VMs share with net=switch, else null. */
  readonly switch: VirtualSwitch | null;
  /** VM `index`'s network factory: a new network (adapter or switch port) for each boot, or null for none. */
  networkFor(index: number): () => GuestNetwork | null;
}

export function pageNetworks(s: PageSettings): PageNetworks {
  const sw = s.net === "switch" ? new VirtualSwitch() : null;
  return {
    switch: sw,
    networkFor(index) {
      const mac = randomMac();
      if (sw) return () => createSwitchedNetwork(sw, `vm${index + 1}`, mac);
      const net = s.net as Exclude<PageSettings["net"], "switch">;
      return () => createNetwork(net, { dohServer: s.doh, ...(net === "inbrowser" ? { mac } : {}) });
    },
  };
}

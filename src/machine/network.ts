// The guest's network: our virtio-net joined to one of v86's network adapters through the
// emulator's bus. v86 makes no NIC of its own with net_device type "none", but still builds
// the adapter its relay_url names: "fetch" (DHCP, ARP, DNS and HTTP through the page's fetch,
// nothing outside the page), "inbrowser" (tabs of one origin over a BroadcastChannel), or a
// wisp:// / wisps:// relay for real TCP, when the user gives one. Or, for several machines in
// one page, a port on a VirtualSwitch (no v86 adapter at all).

import { NetDevice } from "../devices/net/device.ts";
import { randomMac } from "../devices/net/mac.ts";
import type { NetBackend } from "../devices/net/backend.ts";
import type { VirtualSwitch } from "../devices/net/switch.ts";
import { V86BusBackend } from "../devices/net/v86-bus-backend.ts";
import type { Machine } from "./machine.ts";

export type NetworkChoice = "none" | "fetch" | "inbrowser" | `wisp://${string}` | `wisps://${string}`;

export function parseNetworkChoice(text: string): NetworkChoice {
  if (text === "none" || text === "fetch" || text === "inbrowser") return text;
  if (/^wisps?:\/\/[^\s]+$/.test(text)) return text as NetworkChoice;
  throw new Error(`network "${text}": give none, fetch, inbrowser, or a wisp:// or wisps:// relay URL`);
}

export interface GuestNetwork {
  readonly device: NetDevice;
  /** Where the NIC's frames go: v86's bus, or a switch port. */
  readonly backend: NetBackend;
  /** Options for the V86 constructor. */
  readonly v86Options: Record<string, unknown>;
  /** Joins the NIC to the adapter once the emulator exists. */
  attach(machine: Machine): void;
}

export interface NetworkOptions {
  /**
   * How a wisp relay's adapter answers the guest's DNS: v86 asks DNS-over-HTTPS at this server
   * (its default is cloudflare-dns.com), or, with null, answers every name itself with a fixed
   * address (names do not work, addresses do) so nothing but the relay is contacted.
   * Undefined keeps v86's default. Only wisp relays use it.
   */
  dohServer?: string | null;
  /**
   * The NIC's address. Default: QEMU's usual one, or a random one for inbrowser (tabs sharing
   * a network need distinct addresses). Pass the same one again when a machine restarts, so
   * its peers' ARP caches stay right.
   */
  mac?: Uint8Array;
}

export function createNetwork(choice: NetworkChoice, o: NetworkOptions = {}): GuestNetwork | null {
  if (choice === "none") return null;
  const isWisp = choice.startsWith("wisp");
  const dns =
    !isWisp || o.dohServer === undefined ? {} : o.dohServer === null ? { dns_method: "static" } : { dns_method: "doh", doh_server: o.dohServer };
  const backend = new V86BusBackend();
  // Tabs sharing an in-browser network need distinct addresses.
  const mac = o.mac ?? (choice === "inbrowser" ? randomMac() : undefined);
  const device = new NetDevice({ backend, name: "net0", ...(mac ? { mac } : {}) });
  return {
    device,
    backend,
    v86Options: { net_device: { type: "none", relay_url: choice, ...dns } },
    attach: (machine) => backend.attach(machine.emulator.emulator_bus),
  };
}

/**
 * A NIC on a port of `sw`, for machines in one page joined to each other. Each needs its own
 * MAC (the switch learns addresses), random unless given; v86 makes no adapter and no NIC
 * (type "none" without relay_url). Closing the port (when the machine goes) frees its addresses.
 */
export function createSwitchedNetwork(sw: VirtualSwitch, portName: string, mac: Uint8Array = randomMac()): GuestNetwork {
  const backend = sw.createPort(portName);
  const device = new NetDevice({ backend, name: "net0", mac });
  return { device, backend, v86Options: { net_device: { type: "none" } }, attach: () => {} };
}

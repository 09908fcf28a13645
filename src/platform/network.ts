// The guest's network: our virtio-net joined to one of v86's network adapters through the
// emulator's bus. v86 makes no NIC of its own with net_device type "none", but still builds
// the adapter its relay_url names: "fetch" (DHCP, ARP, DNS and HTTP through the page's fetch,
// nothing outside the page), "inbrowser" (tabs of one origin over a BroadcastChannel), or a
// wisp:// / wisps:// relay for real TCP, when the user gives one.

import { NetDevice } from "../devices/net/device.ts";
import { randomMac } from "../devices/net/mac.ts";
import { V86BusBackend, type V86Bus } from "../devices/net/v86-bus-backend.ts";
import type { Machine } from "./machine.ts";

export type NetworkChoice = "none" | "fetch" | "inbrowser" | `wisp://${string}` | `wisps://${string}`;

export function parseNetworkChoice(text: string): NetworkChoice {
  if (text === "none" || text === "fetch" || text === "inbrowser") return text;
  if (/^wisps?:\/\/[^\s]+$/.test(text)) return text as NetworkChoice;
  throw new Error(`network "${text}": give none, fetch, inbrowser, or a wisp:// or wisps:// relay URL`);
}

export interface GuestNetwork {
  readonly device: NetDevice;
  /** Options for the V86 constructor. */
  readonly v86Options: Record<string, unknown>;
  /** Joins the NIC to the adapter once the emulator exists. */
  attach(machine: Machine): void;
}

export function createNetwork(choice: NetworkChoice): GuestNetwork | null {
  if (choice === "none") return null;
  const backend = new V86BusBackend();
  // Tabs sharing an in-browser network need distinct addresses.
  const device = new NetDevice({ backend, name: "net0", ...(choice === "inbrowser" ? { mac: randomMac() } : {}) });
  return {
    device,
    v86Options: { net_device: { type: "none", relay_url: choice } },
    attach: (machine) => backend.attach((machine.emulator as unknown as { emulator_bus: V86Bus }).emulator_bus),
  };
}

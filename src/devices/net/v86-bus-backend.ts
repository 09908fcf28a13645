// A NetBackend over v86's bus, so v86's network adapters (fetch, in-browser, wisp, websocket
// relay) carry our NIC's frames. No v86 import: the bus is any object with send/register.
//
// Directions (checked in v86's src/browser/fetch_network.js, inbrowser_network.js,
// wisp_network.js and src/virtio_net.js / ne2k.js): the adapters sit on `emulator.bus` and
// register for "net<id>-send" (frames from the NIC) and send "net<id>-receive" (frames to the
// NIC); a NIC sits on the other end, `emulator.emulator_bus`, sends "net<id>-send", registers
// for "net<id>-receive", and announces its address with "net<id>-mac" ("aa:bb:cc:dd:ee:ff"),
// which the fetch and wisp adapters use as the destination of their TCP replies.
//
// Getting an adapter without a v86 NIC: V86's `net_device: { type: "none", relay_url: ... }`.
// starter.js builds the adapter from relay_url (or `network_relay_url`), and cpu.js creates
// ne2k only for type "ne2k" (the default when net_device is absent!) and its virtio-net only for
// "virtio", so "none" leaves the bus to us:
//   relay_url "fetch"            FetchNetworkAdapter: ARP, DHCP (guest gets 192.168.86.100,
//                                router 192.168.86.1), DNS, NTP, ping, HTTP on port 80 through
//                                the page's fetch (cors_proxy in net_device for other origins).
//   relay_url "inbrowser"        InBrowserNetworkAdapter: a BroadcastChannel
//                                "v86-inbrowser-<id>" joining tabs of the same origin; give each
//                                tab its own MAC (randomMac()). No DHCP: set addresses by hand.
//   relay_url "wisp://host/..."  WispNetworkAdapter (or "wisps://"): TCP over a Wisp WebSocket
//                                relay, DNS over HTTPS by default (dns_method, doh_server).
//   relay_url "ws://..."         NetworkAdapter: raw frames to a websockproxy-style relay.
// Other net_device fields the adapters read: id (default 0), router_mac, router_ip, vm_ip,
// masquerade, dns_method, doh_server, mtu (their frame-buffer size), cors_proxy.

import type { NetBackend } from "./backend.ts";
import { formatMac } from "./mac.ts";

/**
 * The part of v86's BusConnector this backend uses. The platform describes the emulator's buses
 * on its own (`V86MessageBus` in platform/v86-internals.ts: the platform must not import
 * devices); the two agree by shape, so the assembling layer passes one where the other is asked.
 */
export interface V86Bus {
  send(name: string, value?: unknown): void;
  register(name: string, fn: (value: unknown) => void, thisValue?: unknown): void;
  unregister?(name: string, fn: (value: unknown) => void): void;
}

export interface V86BusBackendOptions {
  /** The emulator's device-side bus (`emulator.emulator_bus`); or attach() it later. */
  bus?: V86Bus;
  /** The adapter's `id` (net_device.id): message names are net<id>-send / -receive / -mac. Default 0. */
  id?: number;
  /** Default "v86-net<id>". */
  name?: string;
}

export function newV86BusCounters() {
  return {
    txFrames: 0,
    txBytes: 0,
    rxFrames: 0,
    rxBytes: 0,
    /** Frames sent before attach() or after close(): lost. */
    txNotAttached: 0,
    /** net<id>-receive values that were not bytes. */
    rxBadValue: 0,
    /** Frames that arrived before the NIC registered its receive function. */
    rxNoListener: 0,
    macAnnouncements: 0,
  };
}
export type V86BusCounters = ReturnType<typeof newV86BusCounters>;

export class V86BusBackend implements NetBackend {
  readonly name: string;
  readonly counters: V86BusCounters = newV86BusCounters();
  readonly #sendName: string;
  readonly #receiveName: string;
  readonly #macName: string;
  #bus: V86Bus | null = null;
  #receive: ((frame: Uint8Array) => void) | null = null;
  #mac: Uint8Array | null = null;
  #closed = false;
  readonly #listener = (value: unknown): void => this.#fromBus(value);

  constructor(o: V86BusBackendOptions = {}) {
    const id = o.id ?? 0;
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`bad adapter id ${id}`);
    this.name = o.name ?? `v86-net${id}`;
    this.#sendName = `net${id}-send`;
    this.#receiveName = `net${id}-receive`;
    this.#macName = `net${id}-mac`;
    if (o.bus) this.attach(o.bus);
  }

  /** Connects to the emulator's bus (once it exists) and announces the MAC if known. */
  attach(bus: V86Bus): void {
    if (this.#closed) throw new Error(`${this.name} is closed`);
    if (this.#bus !== null) throw new Error(`${this.name} is already attached`);
    this.#bus = bus;
    bus.register(this.#receiveName, this.#listener);
    if (this.#mac !== null) this.#announce();
  }

  send(frame: Uint8Array): void {
    if (this.#bus === null || this.#closed) {
      this.counters.txNotAttached++;
      return;
    }
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    this.#bus.send(this.#sendName, frame);
  }

  onReceive(cb: (frame: Uint8Array) => void): void {
    this.#receive = cb;
  }

  setMac(mac: Uint8Array): void {
    this.#mac = Uint8Array.from(mac);
    if (this.#bus !== null && !this.#closed) this.#announce();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#bus?.unregister?.(this.#receiveName, this.#listener);
    this.#receive = null;
  }

  #announce(): void {
    this.counters.macAnnouncements++;
    this.#bus!.send(this.#macName, formatMac(this.#mac!));
  }

  #fromBus(value: unknown): void {
    if (this.#closed) return;
    let frame: Uint8Array;
    if (value instanceof Uint8Array) frame = value;
    else if (value instanceof ArrayBuffer) frame = new Uint8Array(value);
    else if (ArrayBuffer.isView(value)) frame = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    else {
      this.counters.rxBadValue++;
      return;
    }
    if (this.#receive === null) {
      this.counters.rxNoListener++;
      return;
    }
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    this.#receive(frame);
  }
}

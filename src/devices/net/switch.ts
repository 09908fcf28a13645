// A virtual Ethernet switch in one page or process: each port is a NetBackend for one NIC, and
// any other NetBackend (v86's bus, for example) can be joined as an uplink port. It learns
// source address -> port, forwards known unicast to its port, floods broadcast, multicast and
// unknown unicast to every other port. The address table is bounded (least recently seen goes
// first). Delivery is synchronous; a bound on nesting stops a loop of switches from recursing.

import type { NetBackend } from "./backend.ts";
import { ETH_HEADER_SIZE } from "./constants.ts";
import { formatMac, isMulticast, macKey } from "./mac.ts";

export interface VirtualSwitchOptions {
  /** Addresses remembered at once. Default 1024. */
  maxMacs?: number;
  /** Nested deliveries (a port's receiver sending again at once) before frames are dropped. Default 8. */
  maxDepth?: number;
}

export function newSwitchCounters() {
  return {
    frames: 0,
    bytes: 0,
    /** Known unicast sent to one port. */
    forwarded: 0,
    /** Broadcast, multicast and unknown unicast sent to every other port. */
    flooded: 0,
    /** Copies handed to ports (a flood counts once per port). */
    deliveries: 0,
    /** Destination learnt on the port the frame came from: nothing to do. */
    sameSegment: 0,
    /** Shorter than an Ethernet header. */
    runts: 0,
    /** Dropped because delivery nested deeper than maxDepth. */
    loopDrops: 0,
    /** A port's receiver threw. */
    receiverErrors: 0,
    learned: 0,
    /** A known address showed up on another port. */
    moves: 0,
    /** Oldest entries pushed out by a full table. */
    evictions: 0,
    tableSize: 0,
  };
}
export type SwitchCounters = ReturnType<typeof newSwitchCounters>;

export interface SwitchPortCounters {
  /** Frames into the switch from this port, and out of the switch to it. */
  inFrames: number;
  inBytes: number;
  outFrames: number;
  outBytes: number;
  /** Frames for this port that found no receiver (its NIC not attached yet). */
  outNoReceiver: number;
}

/** One port. As a NetBackend it is what a NetDevice on this switch is built with. */
export class SwitchPort implements NetBackend {
  readonly name: string;
  readonly counters: SwitchPortCounters = { inFrames: 0, inBytes: 0, outFrames: 0, outBytes: 0, outNoReceiver: 0 };
  readonly #switch: VirtualSwitch;
  readonly #egress: (frame: Uint8Array) => void;
  #receive: ((frame: Uint8Array) => void) | null = null;
  #closed = false;
  readonly #onClose: () => void;

  /** @internal Made by VirtualSwitch.createPort / connect. */
  constructor(sw: VirtualSwitch, name: string, egress: ((frame: Uint8Array) => void) | null, onClose: () => void) {
    this.#switch = sw;
    this.name = name;
    this.#egress = egress ?? ((frame) => this.#deliverToReceiver(frame));
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A frame from this port's NIC into the switch. */
  send(frame: Uint8Array): void {
    if (this.#closed) return;
    this.#switch.ingress(this, frame);
  }

  onReceive(cb: (frame: Uint8Array) => void): void {
    this.#receive = cb;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#receive = null;
    this.#onClose();
  }

  /** @internal A frame out of the switch to this port. */
  egress(frame: Uint8Array): void {
    this.counters.outFrames++;
    this.counters.outBytes += frame.length;
    this.#egress(frame);
  }

  #deliverToReceiver(frame: Uint8Array): void {
    if (this.#receive === null) {
      this.counters.outNoReceiver++;
      return;
    }
    this.#receive(frame);
  }
}

export class VirtualSwitch {
  readonly counters: SwitchCounters = newSwitchCounters();
  readonly #ports = new Set<SwitchPort>();
  /** macKey -> port, in order of last sighting (oldest first): Map keeps insertion order. */
  readonly #table = new Map<number, SwitchPort>();
  readonly #maxMacs: number;
  readonly #maxDepth: number;
  #depth = 0;
  #nextPort = 0;

  constructor(o: VirtualSwitchOptions = {}) {
    this.#maxMacs = o.maxMacs ?? 1024;
    this.#maxDepth = o.maxDepth ?? 8;
    if (!Number.isInteger(this.#maxMacs) || this.#maxMacs < 1) throw new RangeError(`maxMacs ${this.#maxMacs}`);
  }

  get ports(): readonly SwitchPort[] {
    return [...this.#ports];
  }

  /** A new port for a NIC: pass it as the NetDevice's backend. */
  createPort(name?: string): SwitchPort {
    const port: SwitchPort = new SwitchPort(this, name ?? `port${this.#nextPort++}`, null, () => this.#remove(port));
    this.#ports.add(port);
    return port;
  }

  /**
   * Joins another network (any NetBackend, such as a V86BusBackend for v86's fetch adapter) as
   * a port: its frames enter the switch, frames for it go to its send(). Closing the returned
   * port detaches it; closing the backend stays the caller's business.
   */
  connect(backend: NetBackend, name?: string): SwitchPort {
    const port: SwitchPort = new SwitchPort(this, name ?? backend.name, (frame) => backend.send(frame), () => {
      backend.onReceive(() => {});
      this.#remove(port);
    });
    this.#ports.add(port);
    backend.onReceive((frame) => port.send(frame));
    return port;
  }

  /** The learnt table, for the UI: address -> port name. Allocates. */
  macTable(): { mac: string; port: string }[] {
    const out: { mac: string; port: string }[] = [];
    const bytes = new Uint8Array(6);
    for (const [key, port] of this.#table) {
      let k = key;
      for (let i = 5; i >= 0; i--) {
        bytes[i] = k % 256;
        k = Math.floor(k / 256);
      }
      out.push({ mac: formatMac(bytes), port: port.name });
    }
    return out;
  }

  /** @internal A frame from `from` (via SwitchPort.send). */
  ingress(from: SwitchPort, frame: Uint8Array): void {
    const c = this.counters;
    from.counters.inFrames++;
    from.counters.inBytes += frame.length;
    if (frame.length < ETH_HEADER_SIZE) {
      c.runts++;
      return;
    }
    if (this.#depth >= this.#maxDepth) {
      c.loopDrops++;
      return;
    }
    c.frames++;
    c.bytes += frame.length;
    if (!isMulticast(frame, 6)) this.#learn(macKey(frame, 6), from);
    this.#depth++;
    try {
      const to = isMulticast(frame, 0) ? undefined : this.#table.get(macKey(frame, 0));
      if (to === from) {
        c.sameSegment++;
      } else if (to !== undefined) {
        c.forwarded++;
        this.#out(to, frame);
      } else {
        c.flooded++;
        for (const port of this.#ports) if (port !== from) this.#out(port, frame);
      }
    } finally {
      this.#depth--;
    }
  }

  #out(port: SwitchPort, frame: Uint8Array): void {
    this.counters.deliveries++;
    try {
      port.egress(frame);
    } catch {
      this.counters.receiverErrors++;
    }
  }

  #learn(key: number, port: SwitchPort): void {
    const c = this.counters;
    const known = this.#table.get(key);
    if (known !== undefined) {
      if (known !== port) c.moves++;
      // Re-inserting moves the entry to the young end.
      this.#table.delete(key);
    } else {
      c.learned++;
      if (this.#table.size >= this.#maxMacs) {
        const oldest = this.#table.keys().next().value;
        if (oldest !== undefined) this.#table.delete(oldest);
        c.evictions++;
      }
    }
    this.#table.set(key, port);
    c.tableSize = this.#table.size;
  }

  #remove(port: SwitchPort): void {
    this.#ports.delete(port);
    for (const [key, p] of this.#table) if (p === port) this.#table.delete(key);
    this.counters.tableSize = this.#table.size;
  }
}

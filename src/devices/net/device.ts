// virtio-net: one queue pair (rx0 = 0, tx0 = 1) and a control queue (2), frames to and from a
// NetBackend. Knows nothing of registers or how interrupts travel (the transport does).
//
// What we offer, and why (the brief left CSUM/GUEST_CSUM open):
// - MAC, STATUS, MTU, MRG_RXBUF, CTRL_VQ, CTRL_RX, CTRL_MAC_ADDR, INDIRECT_DESC, EVENT_IDX.
// - CSUM (on by default): the device itself completes a checksum the driver left partial before
//   the frame leaves, so every backend still gets a complete, valid frame. That is honoured
//   whatever the backend is, and it moves checksumming out of the emulated CPU into JS.
// - Not GUEST_CSUM: with it we could only say "checksum verified" (DATA_VALID) after verifying
//   it ourselves, or hand over partial checksums no backend produces. The guest checks.
// - No GSO/TSO either way, no MQ, no VLAN filter, no GUEST_ANNOUNCE, no CTRL_RX_EXTRA.
//
// This file is the device: features, config space, the link, and which queue does what. The
// three paths are their own files: receive.ts (rx0: posted buffers, the bounded backlog),
// transmit.ts (tx0) and control-queue.ts (the control queue; its commands: rx-filter.ts).

import type { ActivationContext, Virtqueue, VirtioDevice } from "../../virtio/interfaces.ts";
import type { NetBackend } from "./backend.ts";
import { MAX_MTU, MIN_MTU, NET_CFG, NET_CONFIG_SIZE, NET_F, NET_S, QUEUE, RING_F, bit } from "./constants.ts";
import { NetControlQueue } from "./control-queue.ts";
import { newNetCounters, type NetCounters } from "./counters.ts";
import { DEFAULT_MAC, formatMac, macKey, toMac } from "./mac.ts";
import { NetReceiver } from "./receive.ts";
import { RxFilter, type RxFilterSaved } from "./rx-filter.ts";
import { NetTransmitter } from "./transmit.ts";

export interface NetDeviceOptions {
  backend: NetBackend;
  /** Name for counters and the UI. Default "net0". */
  name?: string;
  /** The NIC's address (config `mac`), "aa:bb:.." or 6 bytes. Default 52:54:00:12:34:56. */
  mac?: Uint8Array | string;
  /** Offered with VIRTIO_NET_F_MTU; frames up to mtu + 14 (+ 4 with a VLAN tag). Default 1500. */
  mtu?: number;
  /**
   * Maximum size of the rx and tx queues, a power of two. Default 256. The control queue has 64.
   * Linux's virtio_net stops transmitting while fewer than MAX_SKB_FRAGS + 2 (19) tx descriptors
   * are free, so with a tx queue under 32 it sends one frame and then never again.
   */
  queueSize?: number;
  /** Maximum size of the rx queue alone, a power of two (default: queueSize): few rx buffers. */
  rxQueueSize?: number;
  /** Link state at start. Default up. */
  linkUp?: boolean;
  /** Offer VIRTIO_NET_F_CSUM (the device completes partial checksums). Default true. */
  checksumOffload?: boolean;
  /** Offer VIRTIO_NET_F_MRG_RXBUF. Default true. */
  mergeableRxBuffers?: boolean;
  /** Offer CTRL_VQ with CTRL_RX and CTRL_MAC_ADDR (and have a third queue). Default true. */
  controlQueue?: boolean;
  /** Frames that may wait for rx buffers; 0 drops at once when none is posted. Default 64. */
  backlogFrames?: number;
  /** Bytes that may wait for rx buffers. Default 256 KiB. */
  backlogBytes?: number;
  /** Entries per MAC table (unicast, multicast) before it overflows to "accept all". Default 64. */
  macTableEntries?: number;
}

/** What the driver set and the device holds for it, for a saved state (device-state.ts). */
export interface NetGuestState {
  readonly mac: Uint8Array;
  readonly linkUp: boolean;
  readonly configGeneration: number;
  readonly filter: RxFilterSaved;
  /** Frames waiting for receive buffers, oldest first. */
  readonly backlog: readonly Uint8Array[];
}

/** What the UI shows besides the counters. */
export interface NetDeviceState {
  readonly mac: string;
  readonly linkUp: boolean;
  readonly active: boolean;
  readonly mergeableRxBuffers: boolean;
  readonly checksumOffload: boolean;
  readonly promisc: boolean;
  readonly allmulti: boolean;
  readonly unicastEntries: number;
  readonly multicastEntries: number;
  readonly heldRxBuffers: number;
}

const CTRL_QUEUE_SIZE = 64;

export class NetDevice implements VirtioDevice {
  readonly name: string;
  readonly deviceId = 1;
  readonly features: bigint;
  readonly queueMaxSizes: readonly number[];
  readonly configSize = NET_CONFIG_SIZE;
  readonly mtu: number;

  readonly #backend: NetBackend;
  readonly #defaultMac: Uint8Array;
  readonly #config = new Uint8Array(NET_CONFIG_SIZE);
  readonly #filter: RxFilter;
  readonly #counters: NetCounters = newNetCounters();
  readonly #receiver: NetReceiver;
  readonly #transmitter: NetTransmitter;
  readonly #control: NetControlQueue;
  #link: boolean;
  #configGeneration = 0;

  #ctx: ActivationContext | null = null;
  #tx: Virtqueue | null = null;
  #ctrl: Virtqueue | null = null;
  #statusFeature = false;

  constructor(options: NetDeviceOptions) {
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) throw new RangeError(`mtu ${mtu} not in [${MIN_MTU}, ${MAX_MTU}]`);
    const queueSize = checkQueueSize(options.queueSize ?? 256);
    const rxQueueSize = checkQueueSize(options.rxQueueSize ?? queueSize);
    const backlogFrames = options.backlogFrames ?? 64;
    const backlogBytes = options.backlogBytes ?? 256 * 1024;
    if (!Number.isSafeInteger(backlogFrames) || backlogFrames < 0) throw new RangeError(`backlogFrames ${backlogFrames}`);
    if (!Number.isSafeInteger(backlogBytes) || backlogBytes < 0) throw new RangeError(`backlogBytes ${backlogBytes}`);
    const control = options.controlQueue ?? true;

    this.name = options.name ?? "net0";
    this.mtu = mtu;
    this.#backend = options.backend;
    this.#defaultMac = toMac(options.mac ?? DEFAULT_MAC);
    this.#filter = new RxFilter(this.#defaultMac, options.macTableEntries ?? 64);
    this.#receiver = new NetReceiver({ counters: this.#counters, filter: this.#filter, mtu, backlogFrames, backlogBytes });
    this.#transmitter = new NetTransmitter(this.#backend, this.#counters, mtu);
    this.#control = new NetControlQueue(this.#counters, this.#filter, (mac) => this.#setMac(mac));
    this.#link = options.linkUp ?? true;

    let f = bit(NET_F.MAC) | bit(NET_F.STATUS) | bit(NET_F.MTU) | bit(RING_F.INDIRECT_DESC) | bit(RING_F.EVENT_IDX);
    if (options.checksumOffload ?? true) f |= bit(NET_F.CSUM);
    if (options.mergeableRxBuffers ?? true) f |= bit(NET_F.MRG_RXBUF);
    if (control) f |= bit(NET_F.CTRL_VQ) | bit(NET_F.CTRL_RX) | bit(NET_F.CTRL_MAC_ADDR);
    this.features = f;
    this.queueMaxSizes = control ? [rxQueueSize, queueSize, Math.min(queueSize, CTRL_QUEUE_SIZE)] : [rxQueueSize, queueSize];

    this.#config.set(this.#defaultMac, NET_CFG.MAC);
    this.#writeStatus();
    const dv = new DataView(this.#config.buffer);
    dv.setUint16(NET_CFG.MAX_VIRTQUEUE_PAIRS, 1, true);
    dv.setUint16(NET_CFG.MTU, mtu, true);

    this.#backend.onReceive((frame) => this.receive(frame));
    this.#backend.setMac?.(this.#defaultMac);
  }

  get counters(): Readonly<NetCounters> {
    return this.#counters;
  }

  /** The address the NIC answers to now (config mac, or the driver's ADDR_SET). */
  get mac(): Uint8Array {
    return Uint8Array.from(this.#filter.mac);
  }

  get linkUp(): boolean {
    return this.#link;
  }

  /** Moves with every change of config space (status, mac); the transport's ConfigGeneration follows. */
  get configGeneration(): number {
    return this.#configGeneration;
  }

  state(): NetDeviceState {
    const f = this.#filter;
    return {
      mac: formatMac(f.mac),
      linkUp: this.#link,
      active: this.#ctx !== null,
      mergeableRxBuffers: this.#receiver.mergeable,
      checksumOffload: this.#transmitter.checksumOffload,
      promisc: f.promisc,
      allmulti: f.allmulti,
      unicastEntries: f.unicastEntries,
      multicastEntries: f.multicastEntries,
      heldRxBuffers: this.#receiver.heldBuffers,
    };
  }

  /**
   * Plugs or unplugs the cable. Updates config `status` (LINK_UP) and, once the driver runs
   * with VIRTIO_NET_F_STATUS, raises a configuration interrupt. Going down drops the backlog.
   */
  setLink(up: boolean): void {
    if (up === this.#link) return;
    this.#link = up;
    this.#counters.linkChanges++;
    this.#writeStatus();
    if (!up) this.#receiver.dropBacklog("linkDown");
    if (this.#ctx !== null && this.#statusFeature) {
      this.#counters.configInterrupts++;
      this.#ctx.interrupts.config();
    }
  }

  /** The driver-visible state a save keeps (device-state.ts). Copies. */
  guestState(): NetGuestState {
    const f = this.#filter;
    const t = f.tableKeys;
    return {
      mac: Uint8Array.from(f.mac),
      linkUp: this.#link,
      configGeneration: this.#configGeneration,
      filter: {
        promisc: f.promisc, allmulti: f.allmulti, unicastOverflow: f.unicastOverflow, multicastOverflow: f.multicastOverflow,
        unicast: t.unicast, multicast: t.multicast,
      },
      backlog: this.#receiver.backlogCopy(),
    };
  }

  /** Limits a saved state must keep to (device-state.ts checks them). */
  get stateLimits(): { readonly backlogFrames: number; readonly backlogBytes: number; readonly macTableEntries: number } {
    const r = this.#receiver;
    return { backlogFrames: r.backlogMaxFrames, backlogBytes: r.backlogMaxBytes, macTableEntries: this.#filter.maxEntries };
  }

  /**
   * Restore hook (device-state.ts), after the transport restored and activated the device: the
   * checked state replaces the driver-visible one. No interrupt: the driver saw it all before.
   * The waiting frames go out at the rx notify the transport's restore schedules.
   */
  restoreGuestState(s: NetGuestState): void {
    this.#filter.restore(s.filter);
    if (macKey(s.mac) !== macKey(this.#filter.mac)) this.#setMac(s.mac);
    this.#link = s.linkUp;
    this.#writeStatus();
    this.#configGeneration = s.configGeneration >>> 0;
    this.#receiver.restoreBacklog(s.backlog);
  }

  // ---- VirtioDevice ----

  readConfig(offset: number, width: 1 | 2 | 4): number {
    if (!Number.isInteger(offset) || offset < 0 || offset + width > NET_CONFIG_SIZE) {
      this.#counters.configReadsOutOfRange++;
      return 0;
    }
    let v = 0;
    for (let i = width - 1; i >= 0; i--) v = v * 256 + this.#config[offset + i]!;
    return v;
  }

  writeConfig(_offset: number, _width: 1 | 2 | 4, _value: number): void {
    // With VERSION_1 every field is read-only: the driver changes the address through
    // CTRL_MAC_ADDR instead (legacy devices let it write `mac`).
    this.#counters.configWritesIgnored++;
  }

  activate(ctx: ActivationContext): string | null {
    const byIndex = new Map(ctx.queues.map((q) => [q.index, q]));
    const rx = byIndex.get(QUEUE.RX0);
    const tx = byIndex.get(QUEUE.TX0);
    // A queue restored in the middle of a queue reset counts as set up (enableQueue follows).
    const reset = (q: number) => ctx.reopened?.includes(q) ?? false;
    if ((rx === undefined && !reset(QUEUE.RX0)) || (tx === undefined && !reset(QUEUE.TX0))) return "virtio-net needs its receive and transmit queues";
    const has = (n: number) => (ctx.features & bit(n)) !== 0n;
    this.#ctx = ctx;
    if (rx !== undefined) this.#receiver.start(rx, has(NET_F.MRG_RXBUF));
    else this.#receiver.startReset(has(NET_F.MRG_RXBUF));
    this.#tx = tx ?? null;
    this.#transmitter.setChecksumOffload(has(NET_F.CSUM));
    this.#statusFeature = has(NET_F.STATUS);
    const ctrl = has(NET_F.CTRL_VQ) ? byIndex.get(QUEUE.CTRL) : undefined;
    this.#ctrl = ctrl ?? null;
    this.#control.setFeatures(ctrl === undefined ? null : { ctrlRx: has(NET_F.CTRL_RX), ctrlMacAddr: has(NET_F.CTRL_MAC_ADDR) });
    return null;
  }

  reset(): void {
    this.#receiver.stop();
    this.#ctx = null;
    this.#tx = this.#ctrl = null;
    this.#transmitter.setChecksumOffload(false);
    this.#control.setFeatures(null);
    this.#statusFeature = false;
    const changed = macKey(this.#filter.mac) !== macKey(this.#defaultMac);
    this.#filter.reset(this.#defaultMac);
    if (changed) this.#setMac(this.#defaultMac);
  }

  /**
   * Queue reset (docs/virtio-mmio-msi-v3.md, "Queue reset", D10). rx0: the chains taken from
   * its ring are forgotten and waiting frames dropped (NetReceiver.pause). tx0 and the control
   * queue hold nothing between notifies (each notify runs to its end), so they only stop. The
   * other queues keep running.
   */
  resetQueue(index: number): void {
    if (this.#ctx === null) return;
    this.#counters.queueResets++;
    if (index === QUEUE.RX0) this.#receiver.pause();
    else if (index === QUEUE.TX0) this.#tx = null;
    else if (index === QUEUE.CTRL) this.#ctrl = null;
  }

  /** A reset queue set up again. */
  enableQueue(queue: Virtqueue): void {
    const ctx = this.#ctx;
    if (ctx === null) return;
    if (queue.index === QUEUE.RX0) this.#receiver.resume(queue);
    else if (queue.index === QUEUE.TX0) this.#tx = queue;
    else if (queue.index === QUEUE.CTRL && (ctx.features & bit(NET_F.CTRL_VQ)) !== 0n) this.#ctrl = queue;
  }

  notify(index: number): void {
    const c = this.#counters;
    c.notifies++;
    try {
      if (index === QUEUE.RX0 && this.#receiver.running) {
        this.#receiver.notify();
      } else if (index === QUEUE.TX0 && this.#tx !== null) {
        this.#transmitter.process(this.#tx, this.#link);
      } else if (index === QUEUE.CTRL && this.#ctrl !== null) {
        this.#control.process(this.#ctrl);
      } else {
        c.badNotifies++;
      }
    } catch {
      c.internalErrors++;
    }
  }

  /**
   * A frame from the network (the backend calls this). Delivered now, queued in the bounded
   * backlog, or dropped and counted (receive.ts). `frame` is not kept: the device copies what it keeps.
   */
  receive(frame: Uint8Array): void {
    try {
      this.#receiver.receive(frame, this.#link);
    } catch {
      this.#counters.internalErrors++;
    }
  }

  // ---- config space ----

  /** The NIC's address changed: config space and backend follow (the filter already has it). */
  #setMac(mac: Uint8Array): void {
    this.#filter.setMac(mac);
    this.#config.set(mac, NET_CFG.MAC);
    this.#configGeneration++;
    try {
      this.#backend.setMac?.(mac);
    } catch {
      this.#counters.txBackendErrors++;
    }
  }

  #writeStatus(): void {
    this.#configGeneration++;
    const status = this.#link ? NET_S.LINK_UP : 0;
    this.#config[NET_CFG.STATUS] = status & 0xff;
    this.#config[NET_CFG.STATUS + 1] = status >>> 8;
  }
}

function checkQueueSize(size: number): number {
  if (!Number.isInteger(size) || size < 2 || size > 32768 || (size & (size - 1)) !== 0) {
    throw new RangeError(`queue size ${size} is not a power of two in [2, 32768]`);
  }
  return size;
}

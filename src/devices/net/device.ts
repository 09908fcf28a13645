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
// Receive path: frames from the backend go straight into posted buffers. When no buffer is
// posted they wait in a small bounded backlog (default 64 frames / 256 KiB) that the next rx
// notify drains; beyond that they are dropped and counted. Nothing grows without bound.
// Receive chains taken off the ring but not yet filled are held in order (`#held`): a frame that
// needs several buffers (MRG_RXBUF) keeps what it gathered while it waits for more.

import type { ActivationContext, DescriptorChain, Virtqueue, VirtioDevice } from "../../virtio/interfaces.ts";
import type { NetBackend } from "./backend.ts";
import {
  CTRL_ACK, ETHERTYPE_VLAN, ETH_HEADER_SIZE, MAX_MTU, MIN_MTU, NET_CFG, NET_CONFIG_SIZE, NET_F, NET_HDR_F,
  NET_HDR_SIZE, NET_S, QUEUE, RING_F, VLAN_TAG_SIZE, bit,
} from "./constants.ts";
import { countCtrlError, countRxDrop, countTxDrop, newNetCounters, type NetCounters } from "./counters.ts";
import { completeChecksum, parseTxHeader, writeRxHeader } from "./header.ts";
import { DEFAULT_MAC, formatMac, macKey, toMac } from "./mac.ts";
import { RxFilter, executeCtrl, type RxFilterSaved } from "./rx-filter.ts";

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
/** A control command larger than this (a MAC table of ~10,000 addresses) is refused unread. */
const CTRL_MAX_BYTES = 64 * 1024;
const ACK_BYTE = [Uint8Array.of(CTRL_ACK.OK), Uint8Array.of(CTRL_ACK.ERR)];

type DeliverResult = "done" | "noBuffers";

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
  readonly #backlogMaxFrames: number;
  readonly #backlogMaxBytes: number;
  #link: boolean;
  #configGeneration = 0;

  #ctx: ActivationContext | null = null;
  #rx: Virtqueue | null = null;
  #tx: Virtqueue | null = null;
  #ctrl: Virtqueue | null = null;
  #mrg = false;
  #csum = false;
  #ctrlRx = false;
  #ctrlMacAddr = false;
  #statusFeature = false;

  /** Receive chains popped but not yet filled, in ring order. */
  #held: DescriptorChain[] = [];
  /** Copies of frames waiting for receive buffers, oldest first. */
  #backlog: Uint8Array[] = [];
  /** Receive buffers put on the used ring since the last signal. */
  #rxUnsignalled = 0;
  readonly #rxHeader = new Uint8Array(NET_HDR_SIZE);
  readonly #txHeader = new Uint8Array(NET_HDR_SIZE);

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
    this.#backlogMaxFrames = backlogFrames;
    this.#backlogMaxBytes = backlogBytes;
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
      mergeableRxBuffers: this.#mrg,
      checksumOffload: this.#csum,
      promisc: f.promisc,
      allmulti: f.allmulti,
      unicastEntries: f.unicastEntries,
      multicastEntries: f.multicastEntries,
      heldRxBuffers: this.#held.length,
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
    if (!up) this.#dropBacklog("linkDown");
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
      backlog: this.#backlog.map((b) => b.slice()),
    };
  }

  /** Limits a saved state must keep to (device-state.ts checks them). */
  get stateLimits(): { readonly backlogFrames: number; readonly backlogBytes: number; readonly macTableEntries: number } {
    return { backlogFrames: this.#backlogMaxFrames, backlogBytes: this.#backlogMaxBytes, macTableEntries: this.#filter.maxEntries };
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
    this.#dropBacklog("notReady");
    const c = this.#counters;
    for (const frame of s.backlog) {
      this.#backlog.push(frame.slice());
      c.backlogBytes += frame.length;
    }
    c.backlogFrames = this.#backlog.length;
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
    if (rx === undefined || tx === undefined) return "virtio-net needs its receive and transmit queues";
    const has = (n: number) => (ctx.features & bit(n)) !== 0n;
    this.#dropGuestState();
    this.#ctx = ctx;
    this.#rx = rx;
    this.#tx = tx;
    this.#mrg = has(NET_F.MRG_RXBUF);
    this.#csum = has(NET_F.CSUM);
    this.#statusFeature = has(NET_F.STATUS);
    const ctrl = has(NET_F.CTRL_VQ) ? byIndex.get(QUEUE.CTRL) : undefined;
    this.#ctrl = ctrl ?? null;
    this.#ctrlRx = ctrl !== undefined && has(NET_F.CTRL_RX);
    this.#ctrlMacAddr = ctrl !== undefined && has(NET_F.CTRL_MAC_ADDR);
    return null;
  }

  reset(): void {
    this.#dropGuestState();
    this.#ctx = null;
    this.#rx = this.#tx = this.#ctrl = null;
    this.#mrg = this.#csum = this.#ctrlRx = this.#ctrlMacAddr = this.#statusFeature = false;
    const changed = macKey(this.#filter.mac) !== macKey(this.#defaultMac);
    this.#filter.reset(this.#defaultMac);
    if (changed) this.#setMac(this.#defaultMac);
  }

  notify(index: number): void {
    const c = this.#counters;
    c.notifies++;
    try {
      if (index === QUEUE.RX0 && this.#rx !== null) {
        this.#drain();
        this.#signalRx();
      } else if (index === QUEUE.TX0 && this.#tx !== null) {
        this.#processTx(this.#tx);
      } else if (index === QUEUE.CTRL && this.#ctrl !== null) {
        this.#processCtrl(this.#ctrl);
      } else {
        c.badNotifies++;
      }
    } catch {
      c.internalErrors++;
    }
  }

  // ---- receive ----

  /**
   * A frame from the network (the backend calls this). Delivered now, queued in the bounded
   * backlog, or dropped and counted. `frame` is not kept: the device copies what it keeps.
   */
  receive(frame: Uint8Array): void {
    const c = this.#counters;
    try {
      if (this.#rx === null) return countRxDrop(c, "notReady");
      if (!this.#link) return countRxDrop(c, "linkDown");
      if (frame.length < ETH_HEADER_SIZE) return countRxDrop(c, "tooSmall");
      if (frame.length > this.#maxFrame(frame)) return countRxDrop(c, "tooBig");
      if (!this.#filter.accepts(frame)) return countRxDrop(c, "filtered");
      // Frames keep their order: while older ones wait, a new one waits behind them.
      if (this.#backlog.length > 0 || this.#deliver(frame) === "noBuffers") {
        this.#enqueue(frame);
        this.#drain();
      }
      this.#signalRx();
    } catch {
      c.internalErrors++;
    }
  }

  #maxFrame(frame: Uint8Array): number {
    const tagged = frame.length >= ETH_HEADER_SIZE && ((frame[12]! << 8) | frame[13]!) === ETHERTYPE_VLAN;
    return this.mtu + ETH_HEADER_SIZE + (tagged ? VLAN_TAG_SIZE : 0);
  }

  #enqueue(frame: Uint8Array): void {
    const c = this.#counters;
    if (this.#backlogMaxFrames === 0 || this.#backlogMaxBytes === 0) return countRxDrop(c, "noBuffers");
    if (this.#backlog.length >= this.#backlogMaxFrames || c.backlogBytes + frame.length > this.#backlogMaxBytes) {
      return countRxDrop(c, "backlogFull");
    }
    this.#backlog.push(frame.slice());
    c.rxBacklogged++;
    c.backlogFrames = this.#backlog.length;
    c.backlogBytes += frame.length;
    if (c.backlogFrames > c.backlogPeakFrames) c.backlogPeakFrames = c.backlogFrames;
    if (c.backlogBytes > c.backlogPeakBytes) c.backlogPeakBytes = c.backlogBytes;
  }

  /** Delivers waiting frames, oldest first, until buffers run out. */
  #drain(): void {
    const c = this.#counters;
    while (this.#backlog.length > 0) {
      const frame = this.#backlog[0]!;
      if (this.#deliver(frame) === "noBuffers") break;
      this.#backlog.shift();
      c.backlogFrames = this.#backlog.length;
      c.backlogBytes -= frame.length;
    }
  }

  #dropBacklog(reason: "linkDown" | "notReady"): void {
    const c = this.#counters;
    if (this.#backlog.length > 0) countRxDrop(c, reason, this.#backlog.length);
    this.#backlog = [];
    c.backlogFrames = 0;
    c.backlogBytes = 0;
  }

  /**
   * Puts one frame into receive buffers, or drops it (counted) when it can never fit them.
   * "noBuffers": not enough buffers are posted yet; whatever was gathered stays held.
   */
  #deliver(frame: Uint8Array): DeliverResult {
    const c = this.#counters;
    const vq = this.#rx!;
    const need = NET_HDR_SIZE + frame.length;
    let n = 0;
    let room = 0;
    while (room < need) {
      // num_buffers is a u16, and more buffers than the ring holds cannot be posted at once.
      if (n >= vq.size) {
        countRxDrop(c, "tooBig");
        return "done";
      }
      const chain = this.#peekChain(vq, n);
      if (chain === null) return "noBuffers";
      // Without MRG_RXBUF one chain holds header and frame: anything under a header plus an
      // Ethernet header can never be used; with it, the first needs room for the header.
      const min = !this.#mrg ? NET_HDR_SIZE + ETH_HEADER_SIZE : n === 0 ? NET_HDR_SIZE : 1;
      if (chain.writableLength < min) {
        this.#held.splice(n, 1);
        vq.push(chain, 0);
        c.rxBuffersUnusable++;
        this.#rxUnsignalled++;
        continue;
      }
      if (!this.#mrg && chain.writableLength < need) {
        // The guest's buffers are smaller than this frame: drop it, keep the buffer for the next.
        countRxDrop(c, "tooBig");
        return "done";
      }
      room += chain.writableLength;
      n++;
    }
    writeRxHeader(this.#rxHeader, n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const chain = this.#held.shift()!;
      let written = 0;
      if (i === 0) written = vq.writeTo(chain, 0, this.#rxHeader);
      const take = Math.min(chain.writableLength - (i === 0 ? NET_HDR_SIZE : 0), frame.length - at);
      // The whole frame in one buffer (the usual case) needs no view of it.
      const piece = at === 0 && take === frame.length ? frame : frame.subarray(at, at + take);
      if (take > 0) written += vq.writeTo(chain, i === 0 ? NET_HDR_SIZE : 0, piece);
      at += Math.max(take, 0);
      if (written !== (i === 0 ? NET_HDR_SIZE : 0) + Math.max(take, 0)) c.shortCopies++;
      vq.push(chain, written);
      this.#rxUnsignalled++;
    }
    c.rxPackets++;
    c.rxBytes += frame.length;
    c.rxMergedBuffers += n - 1;
    return "done";
  }

  /** The n-th receive chain in ring order, popping one more if needed; null when none is posted. */
  #peekChain(vq: Virtqueue, n: number): DescriptorChain | null {
    if (n < this.#held.length) return this.#held[n]!;
    const chain = vq.pop();
    if (chain !== null) this.#held.push(chain);
    return chain;
  }

  #signalRx(): void {
    if (this.#rxUnsignalled === 0 || this.#rx === null) return;
    this.#rxUnsignalled = 0;
    this.#counters.signals++;
    this.#rx.signalUsed();
  }

  // ---- transmit ----

  #processTx(vq: Virtqueue): void {
    let pushed = 0;
    try {
      for (;;) {
        const chain = vq.pop();
        if (chain === null) break;
        try {
          this.#transmit(vq, chain);
        } catch {
          this.#counters.internalErrors++;
        }
        // Sent or dropped, the buffer goes back: the driver never waits for a frame we refused.
        vq.push(chain, 0);
        pushed++;
      }
    } finally {
      if (pushed > 0) {
        this.#counters.signals++;
        vq.signalUsed();
      }
    }
  }

  #transmit(vq: Virtqueue, chain: DescriptorChain): void {
    const c = this.#counters;
    const total = chain.readableLength;
    const hdr = total >= NET_HDR_SIZE ? this.#txHeader : this.#txHeader.subarray(0, total);
    if (vq.readFrom(chain, 0, hdr) !== hdr.length) {
      c.shortCopies++;
      return;
    }
    const frameLength = Math.max(total - NET_HDR_SIZE, 0);
    const parsed = parseTxHeader(hdr, frameLength, this.#csum);
    if (!parsed.ok) return countTxDrop(c, "badHeader", parsed.error);
    if (frameLength < ETH_HEADER_SIZE) return countTxDrop(c, "tooSmall");
    // The largest frame at all (tagged) before anything is allocated, the exact limit after.
    if (frameLength > this.mtu + ETH_HEADER_SIZE + VLAN_TAG_SIZE) return countTxDrop(c, "tooBig");
    const frame = new Uint8Array(frameLength);
    if (vq.readFrom(chain, NET_HDR_SIZE, frame) !== frameLength) {
      c.shortCopies++;
      return;
    }
    if (frameLength > this.#maxFrame(frame)) return countTxDrop(c, "tooBig");
    if (parsed.header.flags & NET_HDR_F.NEEDS_CSUM) {
      completeChecksum(frame, parsed.header.csumStart, parsed.header.csumOffset);
      c.txChecksums++;
    }
    if (!this.#link) return countTxDrop(c, "linkDown");
    try {
      this.#backend.send(frame);
    } catch {
      c.txBackendErrors++;
      return;
    }
    c.txPackets++;
    c.txBytes += frameLength;
  }

  // ---- control ----

  #processCtrl(vq: Virtqueue): void {
    const c = this.#counters;
    let pushed = 0;
    try {
      for (;;) {
        const chain = vq.pop();
        if (chain === null) break;
        c.ctrlCommands++;
        let written = 0;
        try {
          written = this.#control(vq, chain);
        } catch {
          c.internalErrors++;
        }
        vq.push(chain, written);
        pushed++;
      }
    } finally {
      if (pushed > 0) {
        c.signals++;
        vq.signalUsed();
      }
    }
  }

  /** Runs one command and writes its ack (the first writable byte, as QEMU does); returns bytes written. */
  #control(vq: Virtqueue, chain: DescriptorChain): number {
    const c = this.#counters;
    if (chain.writableLength < 1) {
      countCtrlError(c, "no-ack");
      return 0;
    }
    let ack: number = CTRL_ACK.ERR;
    if (chain.readableLength > CTRL_MAX_BYTES) {
      countCtrlError(c, "too-long");
    } else {
      const bytes = new Uint8Array(chain.readableLength);
      if (vq.readFrom(chain, 0, bytes) !== bytes.length) {
        c.shortCopies++;
        c.ctrlErrors++;
      } else {
        const out = executeCtrl(bytes, this.#filter, { ctrlRx: this.#ctrlRx, ctrlMacAddr: this.#ctrlMacAddr }, (mac) => this.#setMac(mac));
        ack = out.ack;
        if (out.command === "rx.promisc") c.ctrlPromisc++;
        else if (out.command === "rx.allmulti") c.ctrlAllmulti++;
        else if (out.command === "mac.table_set") c.ctrlMacTableSet++;
        else if (out.command === "mac.addr_set") c.ctrlMacAddrSet++;
        if (out.error !== null) countCtrlError(c, out.error);
      }
    }
    if (ack === CTRL_ACK.OK) c.ctrlOk++;
    return vq.writeTo(chain, 0, ACK_BYTE[ack]!);
  }

  // ---- state ----

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

  /** Forgets every chain and frame that belongs to the driver's previous life. */
  #dropGuestState(): void {
    this.#held = [];
    this.#rxUnsignalled = 0;
    this.#dropBacklog("notReady");
  }
}

function checkQueueSize(size: number): number {
  if (!Number.isInteger(size) || size < 2 || size > 32768 || (size & (size - 1)) !== 0) {
    throw new RangeError(`queue size ${size} is not a power of two in [2, 32768]`);
  }
  return size;
}

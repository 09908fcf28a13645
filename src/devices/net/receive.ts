// virtio-net's receive path: frames from the backend into the receive buffers the driver posted
// on rx0. Frames go straight into posted buffers. When no buffer is posted they wait in a small
// bounded backlog (default 64 frames / 256 KiB) that the next rx notify drains; beyond that
// they are dropped and counted. Nothing grows without bound. Receive chains taken off the ring
// but not yet filled are held in order (`#held`): a frame that needs several buffers
// (MRG_RXBUF) keeps what it gathered while it waits for more, and the driver gets its buffers
// back in the order it posted them.

import type { DescriptorChain, Virtqueue } from "../../virtio/interfaces.ts";
import { ETH_HEADER_SIZE, NET_HDR_SIZE, maxFrameLength } from "./constants.ts";
import { countRxDrop, type NetCounters } from "./counters.ts";
import type { Refusal } from "../../virtio/device-status.ts";

/**
 * The received frame's size rule: an Ethernet header at least, and no more than the MTU allows
 * (with a VLAN tag if the frame has one). Null when `frame` may be received, else why not under
 * the drop counter. The one copy: receive() counts it, a saved backlog's check
 * (device-state.ts) refuses a waiting frame with it.
 */
export function rxFrameRefusal(frame: Uint8Array, mtu: number): Refusal<"tooSmall" | "tooBig"> | null {
  if (frame.length < ETH_HEADER_SIZE) return { counter: "tooSmall", why: `a frame of ${frame.length} bytes, under the ${ETH_HEADER_SIZE}-byte header` };
  const max = maxFrameLength(mtu, frame);
  if (frame.length > max) return { counter: "tooBig", why: `a frame of ${frame.length} bytes, over ${max} at MTU ${mtu}` };
  return null;
}
import { writeRxHeader } from "./header.ts";
import type { RxFilter } from "./rx-filter.ts";

export interface NetReceiverOptions {
  /** The device's counters, counted in place. */
  readonly counters: NetCounters;
  /** The device's filter (the driver changes it through the control queue). */
  readonly filter: RxFilter;
  readonly mtu: number;
  /** Frames that may wait for rx buffers; 0 drops at once when none is posted. */
  readonly backlogFrames: number;
  /** Bytes that may wait for rx buffers. */
  readonly backlogBytes: number;
}

type DeliverResult = "done" | "noBuffers";

export class NetReceiver {
  readonly #counters: NetCounters;
  readonly #filter: RxFilter;
  readonly #mtu: number;
  readonly backlogMaxFrames: number;
  readonly backlogMaxBytes: number;
  #rx: Virtqueue | null = null;
  #mrg = false;
  /** Receive chains popped but not yet filled, in ring order. */
  #held: DescriptorChain[] = [];
  /** Copies of frames waiting for receive buffers, oldest first. */
  #backlog: Uint8Array[] = [];
  /** Receive buffers put on the used ring since the last signal. */
  #unsignalled = 0;
  readonly #header = new Uint8Array(NET_HDR_SIZE);

  constructor(o: NetReceiverOptions) {
    this.#counters = o.counters;
    this.#filter = o.filter;
    this.#mtu = o.mtu;
    this.backlogMaxFrames = o.backlogFrames;
    this.backlogMaxBytes = o.backlogBytes;
  }

  /** Between start() (DRIVER_OK) and stop() (reset). */
  get running(): boolean {
    return this.#rx !== null;
  }

  /** MRG_RXBUF was negotiated: a frame may spread over several buffers. */
  get mergeable(): boolean {
    return this.#mrg;
  }

  /** Receive chains taken off the ring and not yet filled. */
  get heldBuffers(): number {
    return this.#held.length;
  }

  /** Copies of the frames waiting for receive buffers, oldest first (for a saved state). */
  backlogCopy(): Uint8Array[] {
    return this.#backlog.map((b) => b.slice());
  }

  /** The driver's rx queue is running (DRIVER_OK); whatever the previous life left is gone. */
  start(rx: Virtqueue, mergeable: boolean): void {
    this.stop();
    this.#rx = rx;
    this.#mrg = mergeable;
  }

  /**
   * Queue reset of rx0 (docs/virtio-mmio-msi-v3.md, "Queue reset"): the held chains belong to
   * the old ring, which the driver reclaims, so they are forgotten unfilled; the waiting frames
   * are dropped (counted notReady) as are frames that arrive until resume(). MRG_RXBUF stays.
   */
  pause(): void {
    this.#rx = null;
    this.#held = [];
    this.#unsignalled = 0;
    this.dropBacklog("notReady");
  }

  /** Started with rx0 in the middle of a queue reset (a restored state): as after pause(). */
  startReset(mergeable: boolean): void {
    this.stop();
    this.#mrg = mergeable;
  }

  /** rx0 set up again after a queue reset: frames go into its new ring. */
  resume(rx: Virtqueue): void {
    this.#held = [];
    this.#unsignalled = 0;
    this.#rx = rx;
  }

  /** Forgets the queue and every chain and frame that belongs to the driver's previous life. */
  stop(): void {
    this.#rx = null;
    this.#mrg = false;
    this.#held = [];
    this.#unsignalled = 0;
    this.dropBacklog("notReady");
  }

  /**
   * A frame from the network: delivered now, queued in the bounded backlog, or dropped and
   * counted. `frame` is not kept: what waits is a copy.
   */
  receive(frame: Uint8Array, linkUp: boolean): void {
    const c = this.#counters;
    if (this.#rx === null) return countRxDrop(c, "notReady");
    if (!linkUp) return countRxDrop(c, "linkDown");
    const refused = rxFrameRefusal(frame, this.#mtu);
    if (refused !== null) return countRxDrop(c, refused.counter);
    if (!this.#filter.accepts(frame)) return countRxDrop(c, "filtered");
    // Frames keep their order: while older ones wait, a new one waits behind them.
    if (this.#backlog.length > 0 || this.#deliver(frame) === "noBuffers") {
      this.#enqueue(frame);
      this.#drain();
    }
    this.#signal();
  }

  /** The driver posted buffers (an rx notify): waiting frames go into them. */
  notify(): void {
    if (this.#rx === null) return;
    this.#drain();
    this.#signal();
  }

  dropBacklog(reason: "linkDown" | "notReady"): void {
    const c = this.#counters;
    if (this.#backlog.length > 0) countRxDrop(c, reason, this.#backlog.length);
    this.#backlog = [];
    c.backlogFrames = 0;
    c.backlogBytes = 0;
  }

  /** Replaces the backlog with copies of `frames` (a restored state, already checked against the limits). */
  restoreBacklog(frames: readonly Uint8Array[]): void {
    this.dropBacklog("notReady");
    const c = this.#counters;
    for (const frame of frames) {
      this.#backlog.push(frame.slice());
      c.backlogBytes += frame.length;
    }
    c.backlogFrames = this.#backlog.length;
  }

  #enqueue(frame: Uint8Array): void {
    const c = this.#counters;
    if (this.backlogMaxFrames === 0 || this.backlogMaxBytes === 0) return countRxDrop(c, "noBuffers");
    if (this.#backlog.length >= this.backlogMaxFrames || c.backlogBytes + frame.length > this.backlogMaxBytes) {
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
        this.#unsignalled++;
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
    writeRxHeader(this.#header, n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const chain = this.#held.shift()!;
      let written = 0;
      if (i === 0) written = vq.writeTo(chain, 0, this.#header);
      const take = Math.min(chain.writableLength - (i === 0 ? NET_HDR_SIZE : 0), frame.length - at);
      // The whole frame in one buffer (the usual case) needs no view of it.
      const piece = at === 0 && take === frame.length ? frame : frame.subarray(at, at + take);
      if (take > 0) written += vq.writeTo(chain, i === 0 ? NET_HDR_SIZE : 0, piece);
      at += Math.max(take, 0);
      if (written !== (i === 0 ? NET_HDR_SIZE : 0) + Math.max(take, 0)) c.shortCopies++;
      vq.push(chain, written);
      this.#unsignalled++;
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

  #signal(): void {
    if (this.#unsignalled === 0 || this.#rx === null) return;
    this.#unsignalled = 0;
    this.#counters.signals++;
    this.#rx.signalUsed();
  }
}

// virtio-net's transmit path: frames the driver put on tx0 go to the backend. Each chain is a
// virtio-net header and a frame; the header is checked (no segmentation offload is offered),
// a partial checksum is completed when CSUM was negotiated, and the frame must fit the MTU.
// Sent or dropped (counted), every buffer goes back to the driver, which never waits for a
// frame we refused.

import type { DescriptorChain, Virtqueue } from "../../virtio/interfaces.ts";
import type { NetBackend } from "./backend.ts";
import { ETH_HEADER_SIZE, NET_HDR_F, NET_HDR_SIZE, VLAN_TAG_SIZE, maxFrameLength } from "./constants.ts";
import { countTxDrop, type NetCounters } from "./counters.ts";
import { completeChecksum, parseTxHeader } from "./header.ts";

export class NetTransmitter {
  readonly #backend: NetBackend;
  readonly #counters: NetCounters;
  readonly #mtu: number;
  readonly #header = new Uint8Array(NET_HDR_SIZE);
  #csum = false;

  /** `counters`: the device's, counted in place. */
  constructor(backend: NetBackend, counters: NetCounters, mtu: number) {
    this.#backend = backend;
    this.#counters = counters;
    this.#mtu = mtu;
  }

  /** CSUM was negotiated: the driver may leave checksums partial for us to complete. */
  get checksumOffload(): boolean {
    return this.#csum;
  }

  /** At DRIVER_OK (true/false) and reset (false). */
  setChecksumOffload(on: boolean): void {
    this.#csum = on;
  }

  /** Sends (or drops) every chain on `vq`, gives each back, and signals once. */
  process(vq: Virtqueue, linkUp: boolean): void {
    let pushed = 0;
    try {
      for (;;) {
        const chain = vq.pop();
        if (chain === null) break;
        try {
          this.#transmit(vq, chain, linkUp);
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

  #transmit(vq: Virtqueue, chain: DescriptorChain, linkUp: boolean): void {
    const c = this.#counters;
    const total = chain.readableLength;
    const hdr = total >= NET_HDR_SIZE ? this.#header : this.#header.subarray(0, total);
    if (vq.readFrom(chain, 0, hdr) !== hdr.length) {
      c.shortCopies++;
      return;
    }
    const frameLength = Math.max(total - NET_HDR_SIZE, 0);
    const parsed = parseTxHeader(hdr, frameLength, this.#csum);
    if (!parsed.ok) return countTxDrop(c, "badHeader", parsed.error);
    if (frameLength < ETH_HEADER_SIZE) return countTxDrop(c, "tooSmall");
    // The largest frame at all (tagged) before anything is allocated, the exact limit after.
    if (frameLength > this.#mtu + ETH_HEADER_SIZE + VLAN_TAG_SIZE) return countTxDrop(c, "tooBig");
    const frame = new Uint8Array(frameLength);
    if (vq.readFrom(chain, NET_HDR_SIZE, frame) !== frameLength) {
      c.shortCopies++;
      return;
    }
    if (frameLength > maxFrameLength(this.#mtu, frame)) return countTxDrop(c, "tooBig");
    if (parsed.header.flags & NET_HDR_F.NEEDS_CSUM) {
      completeChecksum(frame, parsed.header.csumStart, parsed.header.csumOffset);
      c.txChecksums++;
    }
    if (!linkUp) return countTxDrop(c, "linkDown");
    try {
      this.#backend.send(frame);
    } catch {
      c.txBackendErrors++;
      return;
    }
    c.txPackets++;
    c.txBytes += frameLength;
  }
}

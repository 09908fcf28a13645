// virtio-net's control queue: each chain is one command (class, command, data) and a byte for
// its ack, written where QEMU writes it (the first writable byte). The commands themselves
// (receive modes, MAC tables, the address) are rx-filter.ts's; here they are read off the ring,
// bounded, counted and answered. A command we cannot read or run still gets its buffer back.

import type { DescriptorChain, Virtqueue } from "../../virtio/interfaces.ts";
import { CTRL_ACK } from "./constants.ts";
import { countCtrlError, type NetCounters } from "./counters.ts";
import { executeCtrl, type CtrlFeatures, type RxFilter } from "./rx-filter.ts";

/** A control command larger than this (a MAC table of ~10,000 addresses) is refused unread. */
const CTRL_MAX_BYTES = 64 * 1024;
const ACK_BYTE = [Uint8Array.of(CTRL_ACK.OK), Uint8Array.of(CTRL_ACK.ERR)];
const NONE: CtrlFeatures = { ctrlRx: false, ctrlMacAddr: false };

export class NetControlQueue {
  readonly #counters: NetCounters;
  readonly #filter: RxFilter;
  readonly #setMac: (mac: Uint8Array) => void;
  #features: CtrlFeatures = NONE;

  /**
   * `counters`: the device's, counted in place. `setMac`: the device's change of address
   * (config space, backend), called after the filter took the new one.
   */
  constructor(counters: NetCounters, filter: RxFilter, setMac: (mac: Uint8Array) => void) {
    this.#counters = counters;
    this.#filter = filter;
    this.#setMac = setMac;
  }

  /** The command classes the driver negotiated (CTRL_RX, CTRL_MAC_ADDR); none after a reset. */
  setFeatures(features: CtrlFeatures | null): void {
    this.#features = features ?? NONE;
  }

  /** Runs every command on `vq`, answers each, and signals once. */
  process(vq: Virtqueue): void {
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
        const out = executeCtrl(bytes, this.#filter, this.#features, this.#setMac);
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
}

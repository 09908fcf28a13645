// The network device's counters: one flat object of numbers, mutated in place so reading and
// counting stay cheap enough to leave on.

import type { CtrlErrorKind } from "./rx-filter.ts";
import type { TxHeaderError } from "./header.ts";

export function newNetCounters() {
  return {
    notifies: 0,
    /** Notifies for a queue that does not exist or before activation. */
    badNotifies: 0,
    /** Queue resets (rx0, tx0 or the control queue), docs/virtio-mmio-msi-v3.md "Queue reset". */
    queueResets: 0,
    /** signalUsed calls: one per batch of used buffers, per queue. */
    signals: 0,

    txPackets: 0,
    txBytes: 0,
    /** Checksums the device completed for the driver (NEEDS_CSUM). */
    txChecksums: 0,
    txDrops: 0,
    /** Header shorter than 12 bytes, or one asking for what we do not do (see txHeader*). */
    txDropBadHeader: 0,
    txDropTooSmall: 0,
    txDropTooBig: 0,
    txDropLinkDown: 0,
    /** backend.send threw. */
    txBackendErrors: 0,
    txHeaderShort: 0,
    txHeaderGso: 0,
    txHeaderFlags: 0,
    txHeaderCsumNotNegotiated: 0,
    txHeaderCsumRange: 0,

    rxPackets: 0,
    rxBytes: 0,
    rxDrops: 0,
    /** No buffer posted and no backlog to wait in (backlog disabled). */
    rxDropNoBuffers: 0,
    /** Larger than MTU + 14 (+ 4 with a VLAN tag), or larger than the guest's buffers can hold. */
    rxDropTooBig: 0,
    /** Shorter than an Ethernet header. */
    rxDropTooSmall: 0,
    /** No buffer posted and the backlog full. */
    rxDropBacklogFull: 0,
    /** Refused by the receive filter (address not ours, promiscuous mode off). */
    rxDropFiltered: 0,
    rxDropLinkDown: 0,
    /** Arrived before the driver set DRIVER_OK (or after a reset), or with no receive queue. */
    rxDropNotReady: 0,
    /** Receive chains too small to hold anything (under a header) given back empty. */
    rxBuffersUnusable: 0,
    /** Buffers used beyond the first one of a frame (MRG_RXBUF). */
    rxMergedBuffers: 0,
    /** Frames that waited in the backlog for buffers. */
    rxBacklogged: 0,
    /** What the backlog holds now, and the most it ever held. */
    backlogFrames: 0,
    backlogBytes: 0,
    backlogPeakFrames: 0,
    backlogPeakBytes: 0,

    ctrlCommands: 0,
    ctrlOk: 0,
    ctrlErrors: 0,
    ctrlPromisc: 0,
    ctrlAllmulti: 0,
    ctrlMacTableSet: 0,
    ctrlMacAddrSet: 0,
    /** Unknown class/command, or one whose feature was not negotiated. */
    ctrlUnsupported: 0,
    /** Too short, wrong data length, no room for the ack, oversized, bad address. */
    ctrlMalformed: 0,

    linkChanges: 0,
    configInterrupts: 0,
    configWritesIgnored: 0,
    configReadsOutOfRange: 0,
    /** Guest-memory copies that moved fewer bytes than the chain promised. */
    shortCopies: 0,
    /** Our own bugs caught before they could escape notify() or receive(); should stay 0. */
    internalErrors: 0,
  };
}

export type NetCounters = ReturnType<typeof newNetCounters>;

const TX_HEADER_KEY: Record<TxHeaderError, keyof NetCounters> = {
  short: "txHeaderShort",
  gso: "txHeaderGso",
  flags: "txHeaderFlags",
  "csum-not-negotiated": "txHeaderCsumNotNegotiated",
  "csum-range": "txHeaderCsumRange",
};

export type TxDropReason = "badHeader" | "tooSmall" | "tooBig" | "linkDown";
export type RxDropReason = "noBuffers" | "tooBig" | "tooSmall" | "backlogFull" | "filtered" | "linkDown" | "notReady";

const TX_DROP_KEY: Record<TxDropReason, keyof NetCounters> = {
  badHeader: "txDropBadHeader",
  tooSmall: "txDropTooSmall",
  tooBig: "txDropTooBig",
  linkDown: "txDropLinkDown",
};

const RX_DROP_KEY: Record<RxDropReason, keyof NetCounters> = {
  noBuffers: "rxDropNoBuffers",
  tooBig: "rxDropTooBig",
  tooSmall: "rxDropTooSmall",
  backlogFull: "rxDropBacklogFull",
  filtered: "rxDropFiltered",
  linkDown: "rxDropLinkDown",
  notReady: "rxDropNotReady",
};

export function countTxDrop(c: NetCounters, reason: TxDropReason, header?: TxHeaderError): void {
  c.txDrops++;
  c[TX_DROP_KEY[reason]]++;
  if (header !== undefined) c[TX_HEADER_KEY[header]]++;
}

export function countRxDrop(c: NetCounters, reason: RxDropReason, frames = 1): void {
  c.rxDrops += frames;
  c[RX_DROP_KEY[reason]] += frames;
}

export function countCtrlError(c: NetCounters, kind: CtrlErrorKind | "no-ack" | "too-long"): void {
  c.ctrlErrors++;
  if (kind === "unsupported") c.ctrlUnsupported++;
  else c.ctrlMalformed++;
}

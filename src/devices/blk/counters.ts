// The block device's counters: one flat object of numbers, mutated in place so reading and
// counting stay cheap enough to leave on.

import { BLK_T } from "./constants.ts";
import type { RequestErrorKind } from "./request.ts";

/** Errors found while doing a request, after it parsed. */
export type ExecErrorKind =
  | "backend" // the backend threw or rejected
  | "short-copy"; // guest memory took or gave fewer bytes than the chain promised

export function newBlockCounters() {
  return {
    notifies: 0,
    /** Notifies for a queue that does not exist or before activation. */
    badNotifies: 0,
    requests: 0,
    reqIn: 0,
    reqOut: 0,
    reqFlush: 0,
    reqGetId: 0,
    reqDiscard: 0,
    reqWriteZeroes: 0,
    /** Unknown types, unsupported ones and headers too short to have a type. */
    reqOther: 0,
    completed: 0,
    /** signalUsed calls: one per batch of completions. */
    signals: 0,
    bytesRead: 0,
    bytesWritten: 0,
    bytesDiscarded: 0,
    bytesZeroed: 0,
    /** Backend operations under way. */
    inFlight: 0,
    /** Data bytes held by requests taken but not yet completed. */
    inFlightBytes: 0,
    /** Async completions that arrived after reset() and were dropped. */
    droppedAfterReset: 0,
    /** Requests forgotten by a queue reset (in flight or waiting to retire): never completed. */
    droppedByQueueReset: 0,
    configWritesIgnored: 0,
    configReadsOutOfRange: 0,
    /** Our own bugs caught before they could escape notify(); should stay 0. */
    internalErrors: 0,
    errors: 0,
    errNoStatus: 0,
    errHeaderTooShort: 0,
    errBadDataLength: 0,
    errTooLarge: 0,
    errOutOfRange: 0,
    errBadSegments: 0,
    errBadFlags: 0,
    errReadOnly: 0,
    errUnsupported: 0,
    errBackend: 0,
    errShortCopy: 0,
  };
}

export type BlockCounters = ReturnType<typeof newBlockCounters>;

const ERROR_KEY: Record<RequestErrorKind | ExecErrorKind, keyof BlockCounters> = {
  "no-status": "errNoStatus",
  "header-too-short": "errHeaderTooShort",
  "bad-data-length": "errBadDataLength",
  "too-large": "errTooLarge",
  "out-of-range": "errOutOfRange",
  "bad-segments": "errBadSegments",
  "bad-flags": "errBadFlags",
  "read-only": "errReadOnly",
  unsupported: "errUnsupported",
  backend: "errBackend",
  "short-copy": "errShortCopy",
};

export function countError(c: BlockCounters, kind: RequestErrorKind | ExecErrorKind): void {
  c.errors++;
  c[ERROR_KEY[kind]]++;
}

export function countRequestType(c: BlockCounters, rawType: number | null): void {
  c.requests++;
  switch (rawType) {
    case BLK_T.IN: c.reqIn++; break;
    case BLK_T.OUT: c.reqOut++; break;
    case BLK_T.FLUSH: c.reqFlush++; break;
    case BLK_T.GET_ID: c.reqGetId++; break;
    case BLK_T.DISCARD: c.reqDiscard++; break;
    case BLK_T.WRITE_ZEROES: c.reqWriteZeroes++; break;
    default: c.reqOther++;
  }
}

// Turns a descriptor chain into a typed virtio-blk request, or a typed error. Nothing here
// touches the backend: parsing is separate from doing, so every guest-controlled value is
// checked in one place before any I/O starts.

import type { DescriptorChain } from "../../virtio/interfaces.ts";
import {
  BLK_S,
  BLK_T,
  DISCARD_SEGMENT_SIZE,
  DWZ_FLAG_UNMAP,
  REQUEST_HEADER_SIZE,
  SECTOR_SHIFT,
  SECTOR_SIZE,
  type BlkStatus,
} from "./constants.ts";

/** A byte range on the disk, already checked against the capacity. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
  /** WRITE_ZEROES only: the driver allows the range to be deallocated. */
  readonly unmap: boolean;
}

export type BlkRequest =
  /** Disk -> guest: `length` bytes at `offset` into the writable bytes before the status. */
  | { readonly type: "in"; readonly offset: number; readonly length: number }
  /** Guest -> disk: `length` bytes from the readable bytes after the header. */
  | { readonly type: "out"; readonly offset: number; readonly length: number }
  | { readonly type: "flush" }
  /** `length` writable bytes are available for the serial (the spec says 20). */
  | { readonly type: "get-id"; readonly length: number }
  | { readonly type: "discard"; readonly ranges: readonly ByteRange[] }
  | { readonly type: "write-zeroes"; readonly ranges: readonly ByteRange[] };

export type BlkRequestType = BlkRequest["type"];

/** Why a request was refused. Each kind has its own counter. */
export type RequestErrorKind =
  | "no-status" // no writable byte: nowhere to put the status
  | "header-too-short" // fewer than 16 readable bytes
  | "bad-data-length" // IN/OUT data not a whole number of sectors
  | "too-large" // data longer than the device accepts in one request
  | "out-of-range" // sector range past the capacity, or its end overflows
  | "bad-segments" // discard / write-zeroes list empty, ragged, too long, or a range too big
  | "bad-flags" // unknown segment flags, or unmap on a discard
  | "read-only" // a write-type request on a read-only device
  | "unsupported"; // a type the device does not implement or did not offer

export type ParseResult =
  | {
      readonly ok: true;
      readonly request: BlkRequest;
      /** Offset of the status byte within the chain's writable bytes. */
      readonly statusOffset: number;
      readonly rawType: number;
    }
  | {
      readonly ok: false;
      readonly error: RequestErrorKind;
      readonly status: BlkStatus;
      /** Null only for "no-status". */
      readonly statusOffset: number | null;
      /** Null when the header could not be read. */
      readonly rawType: number | null;
    };

/** What the parser must know about the device. All sizes are in bytes unless named sectors. */
export interface RequestLimits {
  readonly capacitySectors: number;
  readonly readOnly: boolean;
  /** Largest IN/OUT payload accepted in one request (seg_max * size_max). */
  readonly maxDataBytes: number;
  /** Zero when the feature is not offered: such requests are answered UNSUPP. */
  readonly maxDiscardSectors: number;
  readonly maxDiscardSeg: number;
  readonly maxWriteZeroesSectors: number;
  readonly maxWriteZeroesSeg: number;
}

/** Copies readable chain bytes from `offset` into `dest`; returns the number copied. */
export type ChainReader = (offset: number, dest: Uint8Array) => number;

// Largest sector-number high word that can still be below any capacity we accept (capacity
// bytes < 2^53, so sectors < 2^44): anything above is out of range without further sums.
const MAX_SECTOR_HI = 0xfff;

/** The 16-byte header, read here for each request: parsing is synchronous, so one buffer serves. */
const headerScratch = new Uint8Array(REQUEST_HEADER_SIZE);

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function failure(error: RequestErrorKind, statusOffset: number, rawType: number | null): ParseResult {
  return {
    ok: false,
    error,
    status: error === "unsupported" || error === "bad-flags" ? BLK_S.UNSUPP : BLK_S.IOERR,
    statusOffset,
    rawType,
  };
}

function success(request: BlkRequest, statusOffset: number, rawType: number): ParseResult {
  return { ok: true, request, statusOffset, rawType };
}

// No closures in here: it runs once per request (and under tsx every closure also pays for
// esbuild's keep-names wrapper).
export function parseRequest(
  chain: DescriptorChain,
  read: ChainReader,
  limits: RequestLimits,
): ParseResult {
  if (chain.writableLength < 1) {
    return { ok: false, error: "no-status", status: BLK_S.IOERR, statusOffset: null, rawType: null };
  }
  const statusOffset = chain.writableLength - 1;
  const header = headerScratch;
  if (chain.readableLength < REQUEST_HEADER_SIZE || read(0, header) !== REQUEST_HEADER_SIZE) {
    return failure("header-too-short", statusOffset, null);
  }
  const rawType = u32le(header, 0);
  const sectorLo = u32le(header, 8);
  const sectorHi = u32le(header, 12);

  switch (rawType) {
    case BLK_T.IN:
    case BLK_T.OUT: {
      const isOut = rawType === BLK_T.OUT;
      if (isOut && limits.readOnly) return failure("read-only", statusOffset, rawType);
      const length = isOut ? chain.readableLength - REQUEST_HEADER_SIZE : statusOffset;
      if (length % SECTOR_SIZE !== 0) return failure("bad-data-length", statusOffset, rawType);
      if (length > limits.maxDataBytes) return failure("too-large", statusOffset, rawType);
      const offset = byteOffset(sectorLo, sectorHi, length >>> SECTOR_SHIFT, limits.capacitySectors);
      if (offset === null) return failure("out-of-range", statusOffset, rawType);
      return success({ type: isOut ? "out" : "in", offset, length }, statusOffset, rawType);
    }
    case BLK_T.FLUSH:
      return success({ type: "flush" }, statusOffset, rawType);
    case BLK_T.GET_ID:
      return success({ type: "get-id", length: statusOffset }, statusOffset, rawType);
    case BLK_T.DISCARD:
    case BLK_T.WRITE_ZEROES: {
      const isDiscard = rawType === BLK_T.DISCARD;
      if (limits.readOnly) return failure("read-only", statusOffset, rawType);
      const maxSectors = isDiscard ? limits.maxDiscardSectors : limits.maxWriteZeroesSectors;
      const maxSeg = isDiscard ? limits.maxDiscardSeg : limits.maxWriteZeroesSeg;
      if (maxSectors === 0 || maxSeg === 0) return failure("unsupported", statusOffset, rawType);
      const ranges = parseSegments(chain, read, isDiscard, maxSectors, maxSeg, limits.capacitySectors);
      if (typeof ranges === "string") return failure(ranges, statusOffset, rawType);
      return success({ type: isDiscard ? "discard" : "write-zeroes", ranges }, statusOffset, rawType);
    }
    default:
      // GET_LIFETIME, SECURE_ERASE and anything unknown: features we never offer.
      return failure("unsupported", statusOffset, rawType);
  }
}

function parseSegments(
  chain: DescriptorChain,
  read: ChainReader,
  isDiscard: boolean,
  maxSectors: number,
  maxSeg: number,
  capacitySectors: number,
): readonly ByteRange[] | RequestErrorKind {
  const listBytes = chain.readableLength - REQUEST_HEADER_SIZE;
  const count = listBytes / DISCARD_SEGMENT_SIZE;
  // Checked before allocating: the list length is guest-controlled.
  if (count < 1 || !Number.isInteger(count) || count > maxSeg) return "bad-segments";
  const raw = new Uint8Array(listBytes);
  if (read(REQUEST_HEADER_SIZE, raw) !== listBytes) return "bad-segments";
  const dv = new DataView(raw.buffer);
  const ranges: ByteRange[] = [];
  for (let at = 0; at < listBytes; at += DISCARD_SEGMENT_SIZE) {
    const sectors = dv.getUint32(at + 8, true);
    const flags = dv.getUint32(at + 12, true);
    // Spec 5.2.6.2: unknown flags, and unmap on a discard, are answered UNSUPP.
    if ((flags & ~DWZ_FLAG_UNMAP) !== 0 || (isDiscard && flags !== 0)) return "bad-flags";
    if (sectors > maxSectors) return "bad-segments";
    const offset = byteOffset(dv.getUint32(at, true), dv.getUint32(at + 4, true), sectors, capacitySectors);
    if (offset === null) return "out-of-range";
    ranges.push({ offset, length: sectors * SECTOR_SIZE, unmap: (flags & DWZ_FLAG_UNMAP) !== 0 });
  }
  return ranges;
}

/**
 * Byte offset of `sectors` sectors starting at the u64 sector (lo, hi), or null when the run
 * does not lie inside the disk. Written so no intermediate value leaves the safe-integer range.
 */
export function byteOffset(lo: number, hi: number, sectors: number, capacitySectors: number): number | null {
  if (hi > MAX_SECTOR_HI) return null;
  const sector = hi * 0x1_0000_0000 + lo;
  if (sector > capacitySectors || sectors > capacitySectors - sector) return null;
  return sector * SECTOR_SIZE;
}

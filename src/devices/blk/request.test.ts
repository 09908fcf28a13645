import { describe, expect, it } from "vitest";
import type { DescriptorChain } from "../../virtio/interfaces.ts";
import { BLK_S, BLK_T } from "./constants.ts";
import { byteOffset, parseRequest, type ChainReader, type RequestLimits } from "./request.ts";
import { concatBytes } from "../../virtio/bytes.ts";
import { requestHeader } from "../../testing/blk-request-header.ts";

const LIMITS: RequestLimits = {
  capacitySectors: 2048, // 1 MiB
  readOnly: false,
  maxDataBytes: 64 * 1024,
  maxDiscardSectors: 1024,
  maxDiscardSeg: 4,
  maxWriteZeroesSectors: 1024,
  maxWriteZeroesSeg: 4,
};

function segments(...segs: [bigint, number, number][]): Uint8Array {
  const b = new Uint8Array(16 * segs.length);
  const dv = new DataView(b.buffer);
  segs.forEach(([sector, n, flags], i) => {
    dv.setBigUint64(i * 16, sector, true);
    dv.setUint32(i * 16 + 8, n, true);
    dv.setUint32(i * 16 + 12, flags, true);
  });
  return b;
}

/** A chain whose readable bytes are `readable` and which has `writable` writable bytes. */
function chain(readable: Uint8Array, writable: number): [DescriptorChain, ChainReader] {
  const c: DescriptorChain = {
    head: 0,
    readable: readable.length ? [{ addr: 0x1000, len: readable.length }] : [],
    writable: writable ? [{ addr: 0x8000, len: writable }] : [],
    readableLength: readable.length,
    writableLength: writable,
  };
  const read: ChainReader = (offset, dest) => {
    const part = readable.subarray(offset, offset + dest.length);
    dest.set(part);
    return part.length;
  };
  return [c, read];
}

const concat = concatBytes;

function parse(readable: Uint8Array, writable: number, limits = LIMITS) {
  const [c, r] = chain(readable, writable);
  return parseRequest(c, r, limits);
}

describe("parseRequest: well-formed requests", () => {
  it("IN: data is every writable byte before the status", () => {
    const p = parse(requestHeader(BLK_T.IN, 4n), 1024 + 1);
    expect(p).toEqual({ ok: true, request: { type: "in", offset: 2048, length: 1024 }, statusOffset: 1024, rawType: 0 });
  });

  it("OUT: data is every readable byte after the header", () => {
    const p = parse(concat(requestHeader(BLK_T.OUT, 2047n), new Uint8Array(512)), 1);
    expect(p).toEqual({ ok: true, request: { type: "out", offset: 2047 * 512, length: 512 }, statusOffset: 0, rawType: 1 });
  });

  it("FLUSH ignores the sector", () => {
    const p = parse(requestHeader(BLK_T.FLUSH, 0xffff_ffff_ffffn), 1);
    expect(p).toMatchObject({ ok: true, request: { type: "flush" }, statusOffset: 0 });
  });

  it("GET_ID reports the room for the serial", () => {
    expect(parse(requestHeader(BLK_T.GET_ID, 0n), 21)).toMatchObject({ ok: true, request: { type: "get-id", length: 20 }, statusOffset: 20 });
  });

  it("DISCARD and WRITE_ZEROES decode every range", () => {
    const d = parse(concat(requestHeader(BLK_T.DISCARD, 0n), segments([8n, 8, 0], [100n, 16, 0])), 1);
    expect(d).toMatchObject({
      ok: true,
      request: {
        type: "discard",
        ranges: [
          { offset: 4096, length: 4096, unmap: false },
          { offset: 51200, length: 8192, unmap: false },
        ],
      },
    });
    const w = parse(concat(requestHeader(BLK_T.WRITE_ZEROES, 0n), segments([0n, 1024, 1])), 1);
    expect(w).toMatchObject({ ok: true, request: { type: "write-zeroes", ranges: [{ offset: 0, length: 512 * 1024, unmap: true }] } });
  });

  it("a range ending exactly at the capacity is accepted", () => {
    expect(parse(requestHeader(BLK_T.IN, 2046n), 1025)).toMatchObject({ ok: true });
  });
});

describe("parseRequest: typed errors", () => {
  const err = (p: ReturnType<typeof parse>) => (p.ok ? "ok" : [p.error, p.status, p.statusOffset]);

  it("no writable byte at all: nowhere to put a status", () => {
    expect(err(parse(requestHeader(BLK_T.IN, 0n), 0))).toEqual(["no-status", BLK_S.IOERR, null]);
  });

  it("header shorter than 16 bytes", () => {
    expect(err(parse(requestHeader(BLK_T.IN, 0n).subarray(0, 15), 513))).toEqual(["header-too-short", BLK_S.IOERR, 512]);
  });

  it("IN/OUT data not a multiple of 512", () => {
    expect(err(parse(requestHeader(BLK_T.IN, 0n), 100 + 1))).toEqual(["bad-data-length", BLK_S.IOERR, 100]);
    expect(err(parse(concat(requestHeader(BLK_T.OUT, 0n), new Uint8Array(513)), 1))).toEqual(["bad-data-length", BLK_S.IOERR, 0]);
  });

  it("IN larger than the device accepts in one request", () => {
    expect(err(parse(requestHeader(BLK_T.IN, 0n), 64 * 1024 + 512 + 1))).toEqual(["too-large", BLK_S.IOERR, 64 * 1024 + 512]);
  });

  it("sector past the capacity, range crossing it, and u64 overflow", () => {
    expect(err(parse(requestHeader(BLK_T.IN, 2048n), 513))[0]).toBe("out-of-range");
    expect(err(parse(requestHeader(BLK_T.IN, 2047n), 1025))[0]).toBe("out-of-range");
    expect(err(parse(requestHeader(BLK_T.IN, 0xffff_ffff_ffff_ffffn), 513))[0]).toBe("out-of-range");
    expect(err(parse(requestHeader(BLK_T.IN, 1n << 33n), 513))[0]).toBe("out-of-range");
  });

  it("writes to a read-only device", () => {
    const ro = { ...LIMITS, readOnly: true };
    expect(err(parse(concat(requestHeader(BLK_T.OUT, 0n), new Uint8Array(512)), 1, ro))[0]).toBe("read-only");
    expect(err(parse(concat(requestHeader(BLK_T.DISCARD, 0n), segments([0n, 1, 0])), 1, ro))[0]).toBe("read-only");
    expect(err(parse(concat(requestHeader(BLK_T.WRITE_ZEROES, 0n), segments([0n, 1, 0])), 1, ro))[0]).toBe("read-only");
    // Reads, flushes and GET_ID still work.
    expect(parse(requestHeader(BLK_T.IN, 0n), 513, ro).ok).toBe(true);
    expect(parse(requestHeader(BLK_T.FLUSH, 0n), 1, ro).ok).toBe(true);
  });

  it("malformed discard / write-zeroes lists", () => {
    const h = requestHeader(BLK_T.DISCARD, 0n);
    expect(err(parse(h, 1))[0]).toBe("bad-segments"); // empty
    expect(err(parse(concat(h, new Uint8Array(20)), 1))[0]).toBe("bad-segments"); // ragged
    const five = segments(...Array.from({ length: 5 }, (): [bigint, number, number] => [0n, 1, 0]));
    expect(err(parse(concat(h, five), 1))[0]).toBe("bad-segments"); // more than max_discard_seg
    expect(err(parse(concat(h, segments([0n, 1025, 0])), 1))[0]).toBe("bad-segments"); // range too big
    expect(err(parse(concat(h, segments([2040n, 16, 0])), 1))[0]).toBe("out-of-range");
  });

  it("unknown flags, and unmap on a discard, are UNSUPP", () => {
    expect(err(parse(concat(requestHeader(BLK_T.DISCARD, 0n), segments([0n, 1, 1])), 1))).toEqual(["bad-flags", BLK_S.UNSUPP, 0]);
    expect(err(parse(concat(requestHeader(BLK_T.WRITE_ZEROES, 0n), segments([0n, 1, 2])), 1))).toEqual(["bad-flags", BLK_S.UNSUPP, 0]);
  });

  it("unknown and unoffered types are UNSUPP", () => {
    for (const t of [BLK_T.GET_LIFETIME, BLK_T.SECURE_ERASE, 2, 99, 0xffff_ffff]) {
      expect(err(parse(requestHeader(t, 0n), 1))).toEqual(["unsupported", BLK_S.UNSUPP, 0]);
    }
    const noDiscard = { ...LIMITS, maxDiscardSectors: 0 };
    expect(err(parse(concat(requestHeader(BLK_T.DISCARD, 0n), segments([0n, 1, 0])), 1, noDiscard))[0]).toBe("unsupported");
  });
});

describe("byteOffset", () => {
  it("stays exact near the largest capacity", () => {
    const cap = 2 ** 44 - 1;
    expect(byteOffset(0xffff_ffff, 0xfff, 0, cap)).toBe(cap * 512);
    expect(byteOffset(0xffff_ffff, 0xfff, 1, cap)).toBeNull();
    expect(byteOffset(0, 0x1000, 0, cap)).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { NET_HDR_F, NET_HDR_GSO, NET_HDR_SIZE } from "./constants.ts";
import { completeChecksum, parseTxHeader, writeRxHeader } from "./header.ts";
import { txHeader } from "../../testing/net-frames.ts";

describe("parseTxHeader", () => {
  it("accepts a plain header and one asking for a checksum inside the frame", () => {
    expect(parseTxHeader(txHeader(), 60, false)).toMatchObject({ ok: true, header: { flags: 0, gsoType: 0 } });
    const h = txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart: 34, csumOffset: 6 });
    expect(parseTxHeader(h, 42, true)).toMatchObject({ ok: true, header: { csumStart: 34, csumOffset: 6 } });
  });

  it("refuses what we never offered or what points outside the frame", () => {
    const err = (hdr: Uint8Array, len = 60, csum = true) => {
      const r = parseTxHeader(hdr, len, csum);
      return r.ok ? null : r.error;
    };
    expect(err(new Uint8Array(NET_HDR_SIZE - 1))).toBe("short");
    expect(err(txHeader({ gsoType: NET_HDR_GSO.TCPV4 }))).toBe("gso");
    expect(err(txHeader({ gsoType: NET_HDR_GSO.ECN }))).toBe("gso");
    expect(err(txHeader({ flags: NET_HDR_F.DATA_VALID }))).toBe("flags");
    expect(err(txHeader({ flags: 0x80 }))).toBe("flags");
    expect(err(txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart: 34, csumOffset: 6 }), 60, false)).toBe("csum-not-negotiated");
    expect(err(txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart: 34, csumOffset: 6 }), 41)).toBe("csum-range");
    expect(err(txHeader({ flags: NET_HDR_F.NEEDS_CSUM, csumStart: 0xffff, csumOffset: 0xffff }), 1514)).toBe("csum-range");
  });
});

describe("completeChecksum", () => {
  it("fills in the IPv4 header checksum of the textbook example (0xb861)", () => {
    const ip = Uint8Array.from([0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7]);
    const frame = new Uint8Array(14 + ip.length);
    frame.set(ip, 14);
    // csum_start at the IP header: the sum runs to the end of the frame (here the header's end).
    completeChecksum(frame, 14, 10);
    expect((frame[24]! << 8) | frame[25]!).toBe(0xb861);
  });

  it("an odd length pads with a zero byte; a zero result goes out as 0xffff", () => {
    const odd = Uint8Array.from([0, 0, 0x12, 0x34, 0x56]);
    completeChecksum(odd, 0, 0);
    expect((odd[0]! << 8) | odd[1]!).toBe(~(0x1234 + 0x5600) & 0xffff);
    const zero = Uint8Array.from([0, 0, 0xff, 0xff]);
    completeChecksum(zero, 0, 0);
    expect((zero[0]! << 8) | zero[1]!).toBe(0xffff);
  });

  it("folds long runs correctly (64 KiB of 0xff)", () => {
    const f = new Uint8Array(65536).fill(0xff);
    f[0] = 0;
    f[1] = 0;
    completeChecksum(f, 0, 0);
    // 32767 words of 0xffff fold to 0xffff; its complement is 0, sent as 0xffff.
    expect((f[0]! << 8) | f[1]!).toBe(0xffff);
  });
});

describe("writeRxHeader", () => {
  it("zeroes everything but num_buffers", () => {
    const h = new Uint8Array(NET_HDR_SIZE).fill(0xaa);
    writeRxHeader(h, 0x0203);
    expect(Array.from(h)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2]);
  });
});

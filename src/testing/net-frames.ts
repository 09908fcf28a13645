// Frame builders for the network tests.

import { NET_HDR, NET_HDR_SIZE } from "../devices/net/constants.ts";
import { parseMac } from "../devices/net/mac.ts";

export const BROADCAST = "ff:ff:ff:ff:ff:ff";

/** An Ethernet frame of `length` bytes (at least 14): dst, src, type, then a counting payload. */
export function ethFrame(dst: string, src: string, length = 64, type = 0x0800, seed = 0): Uint8Array {
  const f = new Uint8Array(length);
  f.set(parseMac(dst), 0);
  f.set(parseMac(src), 6);
  f[12] = type >>> 8;
  f[13] = type & 0xff;
  for (let i = 14; i < length; i++) f[i] = (i * 7 + seed) & 0xff;
  return f;
}

export interface TxHeaderSpec {
  flags?: number;
  gsoType?: number;
  csumStart?: number;
  csumOffset?: number;
}

/** A transmit virtio_net_hdr_v1. */
export function txHeader(h: TxHeaderSpec = {}): Uint8Array {
  const b = new Uint8Array(NET_HDR_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint8(NET_HDR.FLAGS, h.flags ?? 0);
  dv.setUint8(NET_HDR.GSO_TYPE, h.gsoType ?? 0);
  dv.setUint16(NET_HDR.CSUM_START, h.csumStart ?? 0, true);
  dv.setUint16(NET_HDR.CSUM_OFFSET, h.csumOffset ?? 0, true);
  return b;
}

export { concatBytes as concat } from "../virtio/bytes.ts";

/** An IPv4/UDP frame with its UDP checksum left partial, the way Linux hands it over with NEEDS_CSUM. */
export function udpFrame(dst: string, src: string, payload: Uint8Array): { frame: Uint8Array; csumStart: number; csumOffset: number } {
  const ipLen = 20 + 8 + payload.length;
  const frame = new Uint8Array(14 + ipLen);
  frame.set(parseMac(dst), 0);
  frame.set(parseMac(src), 6);
  frame[12] = 0x08;
  const ip = new DataView(frame.buffer, 14);
  ip.setUint8(0, 0x45);
  ip.setUint16(2, ipLen);
  ip.setUint8(8, 64);
  ip.setUint8(9, 17);
  frame.set([192, 168, 86, 100], 14 + 12);
  frame.set([192, 168, 86, 1], 14 + 16);
  ip.setUint16(10, inetChecksum(frame.subarray(14, 34), 0));
  ip.setUint16(20, 1234);
  ip.setUint16(22, 53);
  ip.setUint16(24, 8 + payload.length);
  frame.set(payload, 14 + 28);
  // The pseudo-header sum (not complemented) goes into the checksum field, as Linux does.
  const pseudo = sum16(frame.subarray(26, 34), 0) + 17 + 8 + payload.length;
  ip.setUint16(26, fold(pseudo));
  return { frame, csumStart: 34, csumOffset: 6 };
}

export function sum16(bytes: Uint8Array, start: number): number {
  let s = start;
  for (let i = 0; i + 1 < bytes.length; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length & 1) s += bytes[bytes.length - 1]! << 8;
  return s;
}

export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function inetChecksum(bytes: Uint8Array, start: number): number {
  return ~fold(sum16(bytes, start)) & 0xffff;
}

/** True when the UDP checksum of a frame from udpFrame() verifies (pseudo header included). */
export function udpChecksumOk(frame: Uint8Array): boolean {
  const udpLen = (frame[38]! << 8) | frame[39]!;
  const pseudo = sum16(frame.subarray(26, 34), 0) + 17 + udpLen;
  return fold(sum16(frame.subarray(34, 34 + udpLen), pseudo)) === 0xffff;
}

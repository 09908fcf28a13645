// The virtio-net header (virtio_net_hdr_v1) on both paths, and the one offload we honour:
// completing a transmit checksum the driver left partial (VIRTIO_NET_F_CSUM). No I/O here.

import { NET_HDR, NET_HDR_F, NET_HDR_GSO, NET_HDR_SIZE } from "./constants.ts";

/** Why a transmit header was refused. */
export type TxHeaderError =
  | "short" // fewer than NET_HDR_SIZE readable bytes
  | "gso" // gso_type other than NONE: we offer no host segmentation offload
  | "flags" // DATA_VALID, RSC_INFO or unknown bits: the driver must not set them on transmit
  | "csum-not-negotiated" // NEEDS_CSUM without VIRTIO_NET_F_CSUM
  | "csum-range"; // csum_start / csum_offset point outside the frame

export interface TxHeader {
  readonly flags: number;
  readonly gsoType: number;
  readonly csumStart: number;
  readonly csumOffset: number;
}

export type TxHeaderResult = { ok: true; header: TxHeader } | { ok: false; error: TxHeaderError };

/**
 * Parses and checks a transmit header against the frame length that follows it. `hdr` holds
 * the first bytes of the chain (fewer than NET_HDR_SIZE means a short header).
 */
export function parseTxHeader(hdr: Uint8Array, frameLength: number, csumNegotiated: boolean): TxHeaderResult {
  if (hdr.length < NET_HDR_SIZE) return { ok: false, error: "short" };
  const dv = new DataView(hdr.buffer, hdr.byteOffset, NET_HDR_SIZE);
  const header: TxHeader = {
    flags: dv.getUint8(NET_HDR.FLAGS),
    gsoType: dv.getUint8(NET_HDR.GSO_TYPE),
    csumStart: dv.getUint16(NET_HDR.CSUM_START, true),
    csumOffset: dv.getUint16(NET_HDR.CSUM_OFFSET, true),
  };
  // hdr_len and gso_size only mean something with GSO; num_buffers is unused on transmit.
  if (header.gsoType !== NET_HDR_GSO.NONE) return { ok: false, error: "gso" };
  if ((header.flags & ~NET_HDR_F.NEEDS_CSUM) !== 0) return { ok: false, error: "flags" };
  if (header.flags & NET_HDR_F.NEEDS_CSUM) {
    if (!csumNegotiated) return { ok: false, error: "csum-not-negotiated" };
    if (header.csumStart + header.csumOffset + 2 > frameLength) return { ok: false, error: "csum-range" };
  }
  return { ok: true, header };
}

/**
 * Does what the driver asked with NEEDS_CSUM: the 16-bit ones' complement sum of
 * frame[csumStart..] (the driver already put the pseudo-header sum into the checksum field),
 * complemented, stored big-endian at csumStart + csumOffset. A result of 0 is sent as 0xffff,
 * as Linux's skb_checksum_help does (UDP reads 0 as "no checksum"; for TCP both mean the same).
 */
export function completeChecksum(frame: Uint8Array, csumStart: number, csumOffset: number): void {
  let sum = 0;
  const end = frame.length;
  let i = csumStart;
  // Pairs of bytes, folded now and then so the sum stays a small integer.
  for (; i + 1 < end; i += 2) {
    sum += (frame[i]! << 8) | frame[i + 1]!;
    if (sum > 0x7fff_0000) sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (i < end) sum += frame[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const csum = ~sum & 0xffff || 0xffff;
  const at = csumStart + csumOffset;
  frame[at] = csum >>> 8;
  frame[at + 1] = csum & 0xff;
}

/**
 * The receive header we write: no offloads (flags 0, gso NONE), so the guest checks every
 * checksum itself, and num_buffers = the number of buffers the frame spans (1 without
 * MRG_RXBUF, where the spec has the device write 1).
 */
export function writeRxHeader(into: Uint8Array, numBuffers: number): void {
  into.fill(0, 0, NET_HDR_SIZE);
  into[NET_HDR.NUM_BUFFERS] = numBuffers & 0xff;
  into[NET_HDR.NUM_BUFFERS + 1] = numBuffers >>> 8;
}

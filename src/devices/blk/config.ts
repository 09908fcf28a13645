// The block device's configuration space and feature bits, computed once from its options.

import { BLK_CFG, BLK_CONFIG_SIZE, BLK_F, RING_F, SECTOR_SIZE, bit } from "./constants.ts";

export interface BlockGeometry {
  readonly capacitySectors: number;
  readonly readOnly: boolean;
  readonly numQueues: number;
  readonly segMax: number;
  readonly sizeMax: number;
  readonly physicalBlockExp: number;
  readonly minIoSectors: number;
  readonly optIoSectors: number;
  /** Zero: discard not offered. */
  readonly maxDiscardSectors: number;
  readonly maxDiscardSeg: number;
  readonly discardAlignmentSectors: number;
  /** Zero: write-zeroes not offered. */
  readonly maxWriteZeroesSectors: number;
  readonly maxWriteZeroesSeg: number;
}

export function blockFeatures(g: BlockGeometry): bigint {
  let f =
    bit(BLK_F.SIZE_MAX) |
    bit(BLK_F.SEG_MAX) |
    bit(BLK_F.BLK_SIZE) |
    bit(BLK_F.FLUSH) |
    bit(BLK_F.TOPOLOGY) |
    bit(RING_F.INDIRECT_DESC) |
    bit(RING_F.EVENT_IDX);
  if (g.readOnly) f |= bit(BLK_F.RO);
  if (g.maxDiscardSectors > 0) f |= bit(BLK_F.DISCARD);
  if (g.maxWriteZeroesSectors > 0) f |= bit(BLK_F.WRITE_ZEROES);
  if (g.numQueues > 1) f |= bit(BLK_F.MQ);
  return f;
}

export function blockConfigSpace(g: BlockGeometry): Uint8Array {
  const bytes = new Uint8Array(BLK_CONFIG_SIZE);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(BLK_CFG.CAPACITY, g.capacitySectors % 0x1_0000_0000, true);
  dv.setUint32(BLK_CFG.CAPACITY + 4, Math.floor(g.capacitySectors / 0x1_0000_0000), true);
  dv.setUint32(BLK_CFG.SIZE_MAX, g.sizeMax, true);
  dv.setUint32(BLK_CFG.SEG_MAX, g.segMax, true);
  dv.setUint32(BLK_CFG.BLK_SIZE, SECTOR_SIZE, true);
  dv.setUint8(BLK_CFG.PHYSICAL_BLOCK_EXP, g.physicalBlockExp);
  dv.setUint16(BLK_CFG.MIN_IO_SIZE, g.minIoSectors, true);
  dv.setUint32(BLK_CFG.OPT_IO_SIZE, g.optIoSectors, true);
  // Without CONFIG_WCE the driver never reads this; 1 says "write-back", which FLUSH implies.
  dv.setUint8(BLK_CFG.WRITEBACK, 1);
  dv.setUint16(BLK_CFG.NUM_QUEUES, g.numQueues, true);
  dv.setUint32(BLK_CFG.MAX_DISCARD_SECTORS, g.maxDiscardSectors, true);
  dv.setUint32(BLK_CFG.MAX_DISCARD_SEG, g.maxDiscardSectors > 0 ? g.maxDiscardSeg : 0, true);
  dv.setUint32(BLK_CFG.DISCARD_SECTOR_ALIGNMENT, g.discardAlignmentSectors, true);
  dv.setUint32(BLK_CFG.MAX_WRITE_ZEROES_SECTORS, g.maxWriteZeroesSectors, true);
  dv.setUint32(BLK_CFG.MAX_WRITE_ZEROES_SEG, g.maxWriteZeroesSectors > 0 ? g.maxWriteZeroesSeg : 0, true);
  dv.setUint8(BLK_CFG.WRITE_ZEROES_MAY_UNMAP, g.maxWriteZeroesSectors > 0 ? 1 : 0);
  return bytes;
}

/** Little-endian read of 1, 2 or 4 bytes; null when outside the space. */
export function readConfigBytes(space: Uint8Array, offset: number, width: 1 | 2 | 4): number | null {
  if (!Number.isInteger(offset) || offset < 0 || offset + width > space.length) return null;
  const dv = new DataView(space.buffer, space.byteOffset, space.byteLength);
  return width === 1 ? dv.getUint8(offset) : width === 2 ? dv.getUint16(offset, true) : dv.getUint32(offset, true);
}

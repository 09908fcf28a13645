// virtio-blk wire constants (virtio 1.2, section 5.2). Numbers only: no behaviour here.

/** Request types (virtio_blk_outhdr.type). */
export const BLK_T = {
  IN: 0,
  OUT: 1,
  FLUSH: 4,
  GET_ID: 8,
  GET_LIFETIME: 10,
  DISCARD: 11,
  WRITE_ZEROES: 13,
  SECURE_ERASE: 14,
} as const;

/** Status byte values written into the last writable byte of a request. */
export const BLK_S = {
  OK: 0,
  IOERR: 1,
  UNSUPP: 2,
} as const;
export type BlkStatus = (typeof BLK_S)[keyof typeof BLK_S];

/** Device feature bit numbers. */
export const BLK_F = {
  SIZE_MAX: 1,
  SEG_MAX: 2,
  GEOMETRY: 4,
  RO: 5,
  BLK_SIZE: 6,
  FLUSH: 9,
  TOPOLOGY: 10,
  CONFIG_WCE: 11,
  MQ: 12,
  DISCARD: 13,
  WRITE_ZEROES: 14,
} as const;

/** Ring feature bit numbers the block device can use (virtio 1.2 section 6). */
export const RING_F = {
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
} as const;

/** Byte offsets in struct virtio_blk_config. */
export const BLK_CFG = {
  CAPACITY: 0, // u64, in 512-byte sectors whatever blk_size says
  SIZE_MAX: 8, // u32
  SEG_MAX: 12, // u32
  GEOMETRY_CYLINDERS: 16, // u16
  GEOMETRY_HEADS: 18, // u8
  GEOMETRY_SECTORS: 19, // u8
  BLK_SIZE: 20, // u32
  PHYSICAL_BLOCK_EXP: 24, // u8
  ALIGNMENT_OFFSET: 25, // u8
  MIN_IO_SIZE: 26, // u16, in logical blocks
  OPT_IO_SIZE: 28, // u32, in logical blocks
  WRITEBACK: 32, // u8
  NUM_QUEUES: 34, // u16
  MAX_DISCARD_SECTORS: 36, // u32
  MAX_DISCARD_SEG: 40, // u32
  DISCARD_SECTOR_ALIGNMENT: 44, // u32
  MAX_WRITE_ZEROES_SECTORS: 48, // u32
  MAX_WRITE_ZEROES_SEG: 52, // u32
  WRITE_ZEROES_MAY_UNMAP: 56, // u8
} as const;

/**
 * Config space we expose: everything up to write_zeroes_may_unmap plus its 3 padding bytes.
 * The secure-erase and zoned fields that follow belong to features we never offer.
 */
export const BLK_CONFIG_SIZE = 60;

/** Sector size of the virtio-blk protocol: sector numbers are always in 512-byte units. */
export const SECTOR_SIZE = 512;
export const SECTOR_SHIFT = 9;

/** virtio_blk_outhdr: type u32, reserved u32, sector u64. */
export const REQUEST_HEADER_SIZE = 16;
/** One virtio_blk_discard_write_zeroes entry: sector u64, num_sectors u32, flags u32. */
export const DISCARD_SEGMENT_SIZE = 16;
/** The only defined flag of a discard / write-zeroes segment. */
export const DWZ_FLAG_UNMAP = 1;
/** GET_ID answers with exactly this many bytes (not NUL-terminated when full). */
export const BLK_ID_BYTES = 20;

/** A feature bit number as a mask. */
export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

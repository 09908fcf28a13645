// Test helper: the 16-byte virtio-blk request header a driver puts first in a chain
// (le32 type, le32 reserved, le64 sector).

export function requestHeader(type: number, sector: number | bigint): Uint8Array {
  const h = new Uint8Array(16);
  const dv = new DataView(h.buffer);
  dv.setUint32(0, type, true);
  dv.setBigUint64(8, BigInt(sector), true);
  return h;
}

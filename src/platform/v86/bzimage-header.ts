// The Linux boot header of the bzImage v86 loaded itself: v86 copies the kernel's real-mode
// part to 0x80000 of guest RAM and writes the command line and the initrd's place there (its
// kernel.js). Attach reads it to check the V86's cmdline holds the device announcements and
// its initrd carries the SSDT. Read only, nothing installed: plain functions over guest RAM.

/** Where v86 puts a bzImage's real-mode header, and the command line (0.5.462, its kernel.js). */
const REAL_MODE_HEADER = 0x80000;
const CMD_LINE_PTR = 0x228;
const HDRS_MAGIC = 0x53726448;

const RAMDISK_IMAGE = 0x218;
const RAMDISK_SIZE = 0x21c;

/** The initrd v86 loaded with a bzImage (a view of guest RAM), or null when it loaded none. */
export function bzImageInitrd(mem8: Uint8Array): Uint8Array | null {
  if (mem8.length < REAL_MODE_HEADER + 0x1000) return null;
  const view = new DataView(mem8.buffer, mem8.byteOffset, mem8.byteLength);
  if (view.getUint32(REAL_MODE_HEADER + 0x202, true) !== HDRS_MAGIC) return null;
  const at = view.getUint32(REAL_MODE_HEADER + RAMDISK_IMAGE, true);
  const size = view.getUint32(REAL_MODE_HEADER + RAMDISK_SIZE, true);
  if (at === 0 || size === 0 || at + size > mem8.length) return null;
  return mem8.subarray(at, at + size);
}

export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The command line v86 wrote for a bzImage, or null when it loaded none. */
export function bzImageCmdline(mem8: Uint8Array): string | null {
  if (mem8.length < REAL_MODE_HEADER + 0x1000) return null;
  const view = new DataView(mem8.buffer, mem8.byteOffset, mem8.byteLength);
  if (view.getUint32(REAL_MODE_HEADER + 0x202, true) !== HDRS_MAGIC) return null;
  const at = view.getUint32(REAL_MODE_HEADER + CMD_LINE_PTR, true);
  if (at === 0 || at >= REAL_MODE_HEADER + 0x10000) return null;
  const end = mem8.indexOf(0, at);
  return String.fromCharCode(...mem8.subarray(at, end < 0 ? Math.min(at + 4096, mem8.length) : end));
}

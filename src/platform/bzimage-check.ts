// Is this a kernel v86 can load? v86 0.5.462's loader (its src/kernel.js) reads the Linux x86
// boot protocol's setup header through 16- and 32-bit views of the whole file, so a file whose
// length is not a multiple of 4 throws a RangeError inside v86; a file without the header is
// skipped without a word, and the machine then sits in the BIOS forever. This checks what that
// loader relies on before an emulator is built, and says what is wrong (docs/save-restore.md,
// "Limits", for the sizes).

import { MachineLimits, mib } from "./machine-limits.ts";

/** The setup header's fields (the kernel's Documentation/arch/x86/boot.rst offsets). */
const SETUP_SECTS = 0x1f1;
const BOOT_FLAG = 0x1fe;
const HEADER_MAGIC = 0x202;
const PROTOCOL = 0x206;
const LOADFLAGS = 0x211;
const CMDLINE_SIZE = 0x238;
/** The last header field v86 reads (init_size, 4 bytes). */
const HEADER_END = 0x264;
/** Protocol 2.02: the oldest v86 asserts it can boot (the command line at a 32-bit address). */
const MIN_PROTOCOL = 0x202;

export interface BzImageFacts {
  /** The boot protocol version, e.g. 0x20f. */
  readonly protocol: number;
  /** The setup header's cmdline_size: the longest command line the kernel takes, without its NUL. */
  readonly cmdlineMax: number;
}

/**
 * Why `kernel` is not a bzImage v86 can load (`cmdline`, when given, must fit the kernel's
 * limit), or the facts v86 will use.
 */
export function checkBzImage(kernel: ArrayBuffer | Uint8Array, cmdline?: string): { problem: string } | BzImageFacts {
  const bytes = kernel instanceof Uint8Array ? kernel : new Uint8Array(kernel);
  const no = (why: string) => ({ problem: `not a Linux kernel (bzImage) v86 can load: ${why}` });
  if (bytes.length < HEADER_END) return no(`${bytes.length} bytes is too short for the setup header`);
  if (bytes.length > MachineLimits.kernelBytes) return no(`${mib(bytes.length)} is over the limit of ${mib(MachineLimits.kernelBytes)} (v86 copies the kernel below the initrd at 64 MiB)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(BOOT_FLAG, true) !== 0xaa55 || view.getUint32(HEADER_MAGIC, true) !== 0x53726448) {
    return no('no "HdrS" setup header at 0x202 (is it an HTML page, an ELF vmlinux or a compressed file?)');
  }
  const protocol = view.getUint16(PROTOCOL, true);
  if (protocol < MIN_PROTOCOL) return no(`boot protocol ${version(protocol)} is older than ${version(MIN_PROTOCOL)}`);
  if ((bytes[LOADFLAGS]! & 1) === 0) return no("it is not loaded high (an old zImage, loadflags bit 0 clear)");
  const setupBytes = 512 * ((bytes[SETUP_SECTS] || 4) + 1);
  if (setupBytes >= bytes.length) return no(`its setup code (${setupBytes} bytes) leaves no kernel after it`);
  if (bytes.length % 4 !== 0) return no(`its length (${bytes.length} bytes) is not a multiple of 4, which v86's loader needs`);
  const cmdlineMax = protocol >= 0x206 ? view.getUint32(CMDLINE_SIZE, true) : 255;
  // v86 writes the line and its NUL and asserts the two stay below cmdline_size.
  if (cmdline !== undefined && cmdline.length + 1 >= cmdlineMax) {
    return { problem: `the kernel command line is ${cmdline.length} characters; this kernel takes at most ${cmdlineMax - 2}` };
  }
  return { protocol, cmdlineMax };
}

const version = (p: number) => `${p >> 8}.${(p & 0xff).toString().padStart(2, "0")}`;

// The few AML (ACPI Machine Language) encodings an SSDT describing fixed devices needs, written
// from the ACPI specification (6.5: section 20.2 "AML Grammar Definition" for the objects, 6.4
// "Resource Data Types for ACPI" for the resource descriptors, 5.2.6 for the table header).
// Each function returns plain bytes; the caller nests them. Values that cannot be encoded throw:
// they come from our own code (a placement), never from a guest.

/** AML opcodes and prefixes (ACPI 6.5, 20.3 "AML Byte Stream Byte Values"). */
export const AML = {
  ZERO: 0x00,
  ONE: 0x01,
  NAME: 0x08,
  BYTE_PREFIX: 0x0a,
  WORD_PREFIX: 0x0b,
  DWORD_PREFIX: 0x0c,
  STRING_PREFIX: 0x0d,
  SCOPE: 0x10,
  BUFFER: 0x11,
  EXT_PREFIX: 0x5b,
  /** After EXT_PREFIX. */
  DEVICE: 0x82,
  ROOT_CHAR: 0x5c,
} as const;

/** Large and small resource item tags (ACPI 6.5, 6.4.2 and 6.4.3). */
export const RESOURCE = {
  /** Small item, End Tag, length 1 (the checksum byte). */
  END_TAG: 0x79,
  /** Large item 0x06: 32-Bit Fixed Memory Range Descriptor. */
  MEMORY32_FIXED: 0x86,
  /** Large item 0x09: Extended Interrupt Descriptor. */
  EXTENDED_INTERRUPT: 0x89,
} as const;

/** Extended Interrupt Descriptor flag bits (ACPI 6.5, table 6.260, byte 3). */
export const INTERRUPT_FLAG = {
  /** 1: the device consumes the interrupt (Linux ignores a producer's). */
  CONSUMER: 1 << 0,
  /** 1: edge-triggered; 0: level-triggered. */
  EDGE: 1 << 1,
  /** 1: active-low; 0: active-high. */
  ACTIVE_LOW: 1 << 2,
  /** 1: shared; 0: exclusive. */
  SHARED: 1 << 3,
  /** 1: can wake the system. */
  WAKE: 1 << 4,
} as const;

const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`AML: ${what} ${n} is not a 32-bit unsigned integer`);
}

/**
 * PkgLength (20.2.4): the length of what follows the package's opcode, counting the PkgLength
 * bytes themselves. One byte holds up to 63; otherwise bits 7-6 of the lead byte give how many
 * bytes follow (1-3), its bits 3-0 are the low nibble and the following bytes the rest.
 */
export function pkgLength(contentLength: number): number[] {
  for (let follow = 0; follow <= 3; follow++) {
    const total = contentLength + 1 + follow;
    if (follow === 0 && total < 0x40) return [total];
    if (follow > 0 && total < 1 << (4 + 8 * follow)) {
      const out = [(follow << 6) | (total & 0x0f)];
      for (let i = 0; i < follow; i++) out.push((total >>> (4 + 8 * i)) & 0xff);
      return out;
    }
  }
  throw new Error(`AML: package of ${contentLength} bytes is longer than PkgLength can say`);
}

/** A NameSeg (20.2.2): four characters, a lead of A-Z or _, then A-Z, 0-9 or _; short names padded with _. */
export function nameSeg(name: string): number[] {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(name)) throw new Error(`AML: "${name}" is not a NameSeg`);
  return [...name.padEnd(4, "_")].map((c) => c.charCodeAt(0));
}

/** A NameString from the root: "\" followed by one NameSeg (as `\_SB_`). */
export function rootName(seg: string): number[] {
  return [AML.ROOT_CHAR, ...nameSeg(seg)];
}

/** The shortest integer encoding (20.2.3 ComputationalData): Zero, One, or a Byte/Word/DWord constant. */
export function integer(n: number): number[] {
  checkU32(n, "integer");
  if (n === 0) return [AML.ZERO];
  if (n === 1) return [AML.ONE];
  if (n <= 0xff) return [AML.BYTE_PREFIX, n];
  if (n <= 0xffff) return [AML.WORD_PREFIX, ...u16(n)];
  return [AML.DWORD_PREFIX, ...u32(n)];
}

/** A String constant: ASCII 0x01-0x7F, then a NUL. */
export function string(s: string): number[] {
  const bytes = [...s].map((c) => c.charCodeAt(0));
  if (bytes.some((b) => b < 0x01 || b > 0x7f)) throw new Error(`AML: "${s}" is not an AML string (ASCII 0x01-0x7F)`);
  return [AML.STRING_PREFIX, ...bytes, 0x00];
}

/** DefName: Name(seg, object). */
export function name(seg: string, object: readonly number[]): number[] {
  return [AML.NAME, ...nameSeg(seg), ...object];
}

/** DefBuffer: Buffer(size) { bytes }, the size given as an integer. */
export function buffer(bytes: readonly number[]): number[] {
  const body = [...integer(bytes.length), ...bytes];
  return [AML.BUFFER, ...pkgLength(body.length), ...body];
}

/** DefScope: Scope(path) { terms }. */
export function scope(path: readonly number[], terms: readonly number[]): number[] {
  const body = [...path, ...terms];
  return [AML.SCOPE, ...pkgLength(body.length), ...body];
}

/** DefDevice: Device(seg) { terms }. */
export function device(seg: string, terms: readonly number[]): number[] {
  const body = [...nameSeg(seg), ...terms];
  return [AML.EXT_PREFIX, AML.DEVICE, ...pkgLength(body.length), ...body];
}

/** Memory32Fixed(ReadWrite or ReadOnly, base, length): 12 bytes (6.4.3.4). */
export function memory32Fixed(writable: boolean, base: number, length: number): number[] {
  checkU32(base, "memory base");
  checkU32(length, "memory length");
  if (base + length > 0x100000000) throw new Error(`AML: memory range ${base}+${length} passes 4 GiB`);
  return [RESOURCE.MEMORY32_FIXED, ...u16(9), writable ? 1 : 0, ...u32(base), ...u32(length)];
}

/** Interrupt(...) { irqs }: an Extended Interrupt Descriptor (6.4.3.6) without a resource source. */
export function extendedInterrupt(flags: number, irqs: readonly number[]): number[] {
  if (irqs.length < 1 || irqs.length > 255) throw new Error(`AML: an interrupt descriptor holds 1-255 interrupts, not ${irqs.length}`);
  irqs.forEach((irq) => checkU32(irq, "interrupt"));
  return [RESOURCE.EXTENDED_INTERRUPT, ...u16(2 + 4 * irqs.length), flags & 0x1f, irqs.length, ...irqs.flatMap(u32)];
}

/** The End Tag closing a resource template; a zero checksum means "treat as valid" (6.4.2.9). */
export function endTag(): number[] {
  return [RESOURCE.END_TAG, 0x00];
}

export interface AcpiTableHeader {
  /** Four characters, as "SSDT". */
  signature: string;
  revision: number;
  /** Up to six characters (padded with spaces). */
  oemId: string;
  /** Up to eight characters (padded with spaces). */
  oemTableId: string;
  oemRevision: number;
  /** Four characters: who made the table. */
  creatorId: string;
  creatorRevision: number;
}

export const ACPI_HEADER_SIZE = 36;

function ascii(s: string, width: number, what: string): number[] {
  if (s.length > width || !/^[\x20-\x7e]*$/.test(s)) throw new Error(`AML: ${what} "${s}" is not up to ${width} printable ASCII characters`);
  return [...s.padEnd(width, " ")].map((c) => c.charCodeAt(0));
}

/**
 * A whole table (5.2.6, System Description Table Header): the 36-byte header, then `body`. The
 * length covers both and the checksum makes all its bytes sum to zero (mod 256), which Linux
 * checks before it takes a table from the initrd.
 */
export function acpiTable(header: AcpiTableHeader, body: readonly number[]): Uint8Array {
  if (header.signature.length !== 4) throw new Error(`AML: signature "${header.signature}" is not four characters`);
  checkU32(header.oemRevision, "OEM revision");
  checkU32(header.creatorRevision, "creator revision");
  const length = ACPI_HEADER_SIZE + body.length;
  const table = new Uint8Array([
    ...ascii(header.signature, 4, "signature"),
    ...u32(length),
    header.revision & 0xff,
    0, // checksum, below
    ...ascii(header.oemId, 6, "OEM ID"),
    ...ascii(header.oemTableId, 8, "OEM table ID"),
    ...u32(header.oemRevision),
    ...ascii(header.creatorId, 4, "creator ID"),
    ...u32(header.creatorRevision),
    ...body,
  ]);
  table[9] = (0x100 - (table.reduce((sum, b) => sum + b, 0) & 0xff)) & 0xff;
  return table;
}

// The "newc" cpio format (SVR4 without checksums, magic 070701) that Linux reads its initramfs
// and early initrd files from: a 110-byte header of the magic and thirteen 8-digit hex fields,
// the NUL-terminated name, padding to 4 bytes, the data, padding to 4 bytes; the archive ends
// with an entry named TRAILER!!!. Written and read here without compression.

export const NEWC_MAGIC = "070701";
const HEADER_SIZE = 110;
const TRAILER = "TRAILER!!!";

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;

export interface CpioEntry {
  /** The path inside the archive, without a leading "/" (as "kernel/firmware/acpi/x.aml"). */
  readonly name: string;
  /** File type and permission bits (S_IFREG | 0o644, S_IFDIR | 0o755). */
  readonly mode: number;
  /** A regular file's contents (directories have none). */
  readonly data?: Uint8Array;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function asciiBytes(s: string): number[] {
  const out = [...s].map((c) => c.charCodeAt(0));
  if (out.some((b) => b < 0x20 || b > 0x7e)) throw new Error(`cpio: "${s}" is not a printable ASCII name`);
  return out;
}

function header(fields: { ino: number; mode: number; nlink: number; size: number; nameSize: number }): number[] {
  const hex = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const values = [fields.ino, fields.mode, 0, 0, fields.nlink, 0, fields.size, 0, 0, 0, 0, fields.nameSize, 0];
  return asciiBytes(NEWC_MAGIC + values.map(hex).join(""));
}

/** An uncompressed newc archive of `entries`, in order, then the trailer; its length is a multiple of 4. */
export function newcArchive(entries: readonly CpioEntry[]): Uint8Array {
  const parts: number[][] = [];
  const blobs: Array<Uint8Array | null> = [];
  let total = 0;
  const add = (name: string, mode: number, ino: number, data: Uint8Array | null) => {
    const isDir = (mode & 0o170000) === S_IFDIR;
    if (name !== TRAILER && (name === "" || name.startsWith("/") || name.split("/").includes(".."))) {
      throw new Error(`cpio: "${name}" is not a relative path inside the archive`);
    }
    const nameBytes = [...asciiBytes(name), 0];
    const head = [...header({ ino, mode, nlink: isDir ? 2 : 1, size: data?.length ?? 0, nameSize: nameBytes.length }), ...nameBytes];
    head.push(...new Array<number>(pad4(head.length)).fill(0));
    parts.push(head);
    blobs.push(data);
    total += head.length + (data ? data.length + pad4(data.length) : 0);
  };
  entries.forEach((e, i) => {
    const type = e.mode & 0o170000;
    if (type !== S_IFREG && type !== S_IFDIR) throw new Error(`cpio: ${e.name}: only regular files and directories are written`);
    if (type === S_IFDIR && e.data) throw new Error(`cpio: ${e.name}: a directory has no data`);
    add(e.name, e.mode, i + 1, type === S_IFREG ? (e.data ?? new Uint8Array(0)) : null);
  });
  add(TRAILER, 0, 0, null);
  const out = new Uint8Array(total);
  let at = 0;
  parts.forEach((head, i) => {
    out.set(head, at);
    at += head.length;
    const data = blobs[i];
    if (data) {
      out.set(data, at);
      at += data.length + pad4(data.length);
    }
  });
  return out;
}

export interface CpioFile {
  readonly name: string;
  readonly mode: number;
  /** A view into the archive's bytes. */
  readonly data: Uint8Array;
}

/**
 * Reads the uncompressed newc archive at `offset` of `bytes` up to its trailer: its entries
 * (trailer excluded) and where the archive ends (after the trailer's padding). Throws, saying
 * where, on anything that is not a well-formed archive inside `bytes`.
 */
export function readNewc(bytes: Uint8Array, offset = 0): { entries: CpioFile[]; end: number } {
  const entries: CpioFile[] = [];
  let at = offset;
  const text = (from: number, length: number) => String.fromCharCode(...bytes.subarray(from, from + length));
  for (;;) {
    if (at + HEADER_SIZE > bytes.length) throw new Error(`cpio: header at ${at} runs past the end (${bytes.length} bytes)`);
    const magic = text(at, 6);
    if (magic !== NEWC_MAGIC && magic !== "070702") throw new Error(`cpio: no newc magic at ${at}`);
    const field = (i: number) => {
      const s = text(at + 6 + 8 * i, 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new Error(`cpio: field ${i} of the header at ${at} is not hex: "${s}"`);
      return parseInt(s, 16);
    };
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    if (nameSize < 1) throw new Error(`cpio: empty name at ${at}`);
    const nameAt = at + HEADER_SIZE;
    const dataAt = nameAt + nameSize + pad4(HEADER_SIZE + nameSize);
    const next = dataAt + size + pad4(size);
    if (dataAt + size > bytes.length) throw new Error(`cpio: the entry at ${at} runs past the end (${bytes.length} bytes)`);
    if (bytes[nameAt + nameSize - 1] !== 0) throw new Error(`cpio: the name at ${nameAt} is not NUL-terminated`);
    const entryName = text(nameAt, nameSize - 1);
    if (entryName === TRAILER) return { entries, end: Math.min(next, bytes.length) };
    entries.push({ name: entryName, mode, data: bytes.subarray(dataAt, dataAt + size) });
    at = next;
  }
}

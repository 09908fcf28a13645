// The state file as it is written and read: the container of state-file.ts compressed with
// gzip (CompressionStream, in browsers and in Node alike). v86's state is mostly zero pages and
// code, so this makes the file about a third of its size. Reading takes a compressed file or an
// uncompressed one (what Save state and `guest --save` wrote before), told apart by gzip's magic
// bytes, which a container never starts with ("V86MSIS1"). Decompressed bytes are as untrusted
// as the file: gzip's own CRC-32 and length are checked by the decompressor, what it produces
// may not grow past a bound (a small file cannot make the reader fill its memory), and the
// container's checks follow (its own CRC-32 only for an uncompressed file: gzip's covers the
// same bytes).

import { decodeSavedMachine, encodeSavedMachine, type SavedMachine } from "./state-file.ts";

const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** The most a state file may decompress to by default: 4 GiB (the container's u32 lengths, and more than a page can hold). */
export const MAX_UNPACKED_BYTES = 2 ** 32;

export function isCompressedStateFile(file: Uint8Array): boolean {
  return file.length >= 2 && file[0] === GZIP_MAGIC[0] && file[1] === GZIP_MAGIC[1];
}

/** The state file of `m`, compressed. */
export async function packSavedMachine(m: SavedMachine): Promise<Uint8Array<ArrayBuffer>> {
  return collect(new Blob([encodeSavedMachine(m) as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip")), Infinity);
}

/** Reads a compressed or an uncompressed state file; throws an Error that says why a file is refused. */
export async function unpackSavedMachine(file: Uint8Array, maxBytes = MAX_UNPACKED_BYTES): Promise<SavedMachine> {
  if (!isCompressedStateFile(file)) return decodeSavedMachine(file);
  let raw: Uint8Array;
  try {
    raw = await collect(new Blob([file as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")), maxBytes);
  } catch (error) {
    if (error instanceof TooLarge) throw new Error(`not a usable saved machine: it decompresses to more than ${maxBytes} bytes`);
    throw new Error(`not a usable saved machine: its compressed data is cut short or damaged (${(error as Error).message})`);
  }
  return decodeSavedMachine(raw, { checksumVerifiedBy: "gzip" });
}

class TooLarge extends Error {}

/** The stream's bytes in one array; stops reading (and throws TooLarge) past `maxBytes`. */
async function collect(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

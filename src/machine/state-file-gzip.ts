// The state file as it is written and read: the container of state-file.ts compressed with
// gzip (CompressionStream / DecompressionStream, in browsers and in Node alike). v86's state is
// mostly zero pages and code, so this makes the file about a third of its size. Reading takes a
// compressed file or an uncompressed one (what Save state and `guest --save` wrote before), told
// apart by gzip's magic bytes, which a container never starts with ("V86MSIS1").
//
// A compressed file is inflated as a stream, only as far as the container reader asks
// (state-file.ts): a small file that would inflate to GiBs is refused after its first few KiB,
// by the magic or the declared lengths and MachineLimits (docs/save-restore.md, "Limits").
// gzip's own CRC-32 and length are checked by the decompressor at the stream's end, which the
// reader always reaches; the container's CRC-32 is checked only for an uncompressed file, since
// gzip's covers the same bytes.

import { MachineLimits, mib } from "../platform/machine-limits.ts";
import { bytesSource, encodeSavedMachine, readStateContainer, StateFileError, type ReadOptions, type SavedMachine, type StateByteSource } from "./state-file.ts";

const GZIP_MAGIC = [0x1f, 0x8b] as const;
/** How much compressed input the decompressor is given at a time. */
const INPUT_CHUNK = 64 * 1024;

export function isCompressedStateFile(file: Uint8Array): boolean {
  return file.length >= 2 && file[0] === GZIP_MAGIC[0] && file[1] === GZIP_MAGIC[1];
}

/** The state file of `m`, compressed. */
export async function packSavedMachine(m: SavedMachine): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await new Response(new Blob([encodeSavedMachine(m)]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

/** Why a compressed file of `bytes` bytes is refused before it is read, or null. */
export function stateFileSizeProblem(bytes: number): string | null {
  const max = MachineLimits.stateFileBytes;
  return bytes > max ? `the file is ${mib(bytes)}, over the limit of ${mib(max)} for a state file` : null;
}

/**
 * Reads a compressed or an uncompressed state file; throws a StateFileError that says why a
 * file is refused.
 */
export async function unpackSavedMachine(file: Uint8Array, o: Omit<ReadOptions, "checksumVerifiedBy"> = {}): Promise<SavedMachine> {
  const tooBig = stateFileSizeProblem(file.length);
  if (tooBig !== null) throw new StateFileError(tooBig);
  if (!isCompressedStateFile(file)) return readStateContainer(bytesSource(file), o);
  return readStateContainer(inflatingSource(file), { ...o, checksumVerifiedBy: "gzip" });
}

/** The container's bytes, inflated from `file` as they are asked for. */
function inflatingSource(file: Uint8Array): StateByteSource {
  let at = 0;
  // Compressed input in pieces, pulled by the decompressor as it needs them (a Blob would copy the file).
  const input = new ReadableStream<BufferSource>({
    pull(controller) {
      if (at >= file.length) {
        controller.close();
        return;
      }
      controller.enqueue(file.slice(at, at + INPUT_CHUNK));
      at += INPUT_CHUNK;
    },
  });
  return streamSource(input.pipeThrough(new DecompressionStream("gzip")), (error) =>
    new StateFileError(`its compressed data is cut short or damaged (${(error as Error).message})`),
  );
}

/** A source over a stream's chunks; `damaged` turns the stream's own errors into refusals. */
export function streamSource(stream: ReadableStream<Uint8Array>, damaged: (error: unknown) => Error): StateByteSource {
  const reader = stream.getReader();
  let pending: Uint8Array | null = null;
  let done = false;
  /** The next non-empty chunk, or null at the end. */
  const next = async (): Promise<Uint8Array | null> => {
    if (pending) {
      const p = pending;
      pending = null;
      return p;
    }
    while (!done) {
      let r;
      try {
        r = await reader.read();
      } catch (error) {
        done = true;
        throw damaged(error);
      }
      if (r.done) done = true;
      else if (r.value.length > 0) return r.value;
    }
    return null;
  };
  return {
    async fill(into) {
      let got = 0;
      while (got < into.length) {
        const chunk = await next();
        if (!chunk) break;
        const n = Math.min(chunk.length, into.length - got);
        into.set(chunk.subarray(0, n), got);
        got += n;
        if (n < chunk.length) pending = chunk.subarray(n);
      }
      return got;
    },
    async atEnd() {
      const chunk = await next();
      if (!chunk) return true;
      pending = chunk;
      return false;
    },
    async cancel() {
      done = true;
      pending = null;
      await reader.cancel();
    },
  };
}

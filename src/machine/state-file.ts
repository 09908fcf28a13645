// The state file of a saved machine, shared by the `guest` command (--save FILE, --restore
// FILE) and the page (Save state, Restore state, ?state=URL): v86's state, our devices' states,
// the disk's bytes and the options that shaped the machine, in one container (uncompressed;
// state-file-gzip.ts compresses it). No DOM, no Node, so both front ends read and write the same
// files.
//
// Read back as hostile input (docs/save-restore.md, "The file" and "Limits"): the reader pulls
// bytes from a stream exactly as it needs them. It reads the magic, the header's length and the
// header first, checks every declared length and the boot options against MachineLimits, and
// refuses before it reads anything more; then it reads exactly the declared bytes into buffers
// allocated once, and refuses a stream that ends early or goes on past them.
//
// Layout, format 3: "V86MSIS1", the header's length (u32 LE), the header (JSON: boot options and
// the three lengths), the device and transport state (JSON, at most
// MachineLimits.deviceStateBytes), v86's state, the disk's bytes, and the CRC-32 of everything
// before it (u32 LE). Format 2 (still read) had the device state inside the header.

import { crc32 } from "./crc32.ts";
import type { SavedDevices } from "./device-states.ts";
import type { MsiMode } from "../firmware/guest-cmdline.ts";
import { MachineLimits, memoryProblem, mib } from "../platform/machine-limits.ts";

const MAGIC = "V86MSIS1";
export const SAVED_MACHINE_KIND = "v86-msi-saved-machine";
export const SAVED_MACHINE_VERSION = 3;
/** Versions this program reads: 2 (device state in the header) and 3. */
const READS = [2, 3] as const;
const CRC_BYTES = 4;
const PREFIX_BYTES = MAGIC.length + 4;
/** v86's state starts with this u32 (v86's src/state.js), then its version and its total length. */
const V86_STATE_MAGIC = 0x86768676;
/** A zstd frame: v86 inflates a state that starts with it, a bomb we never let it open. */
const ZSTD_MAGIC = 0xfd2fb528;

/** A state file refused: the message says why, naming the limit where one was passed. */
export class StateFileError extends Error {
  constructor(readonly reason: string) {
    super(`not a usable saved machine: ${reason}`);
    this.name = "StateFileError";
  }
}

/** What must be the same to restore: the machine is rebuilt from these, not from the command line. */
export interface SavedBoot {
  readonly memoryMB: number;
  readonly msiMode: MsiMode | null;
  readonly append: string | null;
  readonly net: string;
  /** null: no disk. */
  readonly diskReadOnly: boolean | null;
}

export interface SavedMachine {
  readonly boot: SavedBoot;
  readonly devices: SavedDevices;
  readonly v86State: ArrayBuffer;
  readonly disk: Uint8Array | null;
}

export function encodeSavedMachine(m: SavedMachine): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const devices = enc.encode(JSON.stringify(m.devices));
  if (devices.length > MachineLimits.deviceStateBytes) {
    throw new Error(`cannot save: the device state is ${mib(devices.length)}, over the limit of ${mib(MachineLimits.deviceStateBytes)}`);
  }
  const header = enc.encode(JSON.stringify({
    kind: SAVED_MACHINE_KIND, version: SAVED_MACHINE_VERSION, boot: m.boot,
    devicesBytes: devices.length, v86Bytes: m.v86State.byteLength, diskBytes: m.disk?.length ?? null,
  }));
  const out = new Uint8Array(PREFIX_BYTES + header.length + devices.length + m.v86State.byteLength + (m.disk?.length ?? 0) + CRC_BYTES);
  out.set(enc.encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  let at = PREFIX_BYTES;
  for (const part of [header, devices, new Uint8Array(m.v86State), m.disk ?? new Uint8Array(0)]) {
    out.set(part, at);
    at += part.length;
  }
  const end = out.length - CRC_BYTES;
  new DataView(out.buffer).setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

/**
 * Where the reader's bytes come from. `fill` fills `into` completely and returns how many bytes
 * it got (fewer only at the end of the stream); `atEnd` says whether nothing follows (reading as
 * far as needed to know); `cancel` drops what is left. Errors of the stream itself (a damaged
 * compressed stream) are thrown as StateFileErrors by the source.
 */
export interface StateByteSource {
  fill(into: Uint8Array): Promise<number>;
  atEnd(): Promise<boolean>;
  cancel(): Promise<void>;
}

export interface ReadOptions {
  /** The stream's bytes were checked by a CRC-32 of their own (gzip's): skip the container's. */
  readonly checksumVerifiedBy?: "gzip";
  /** Told the size of every buffer the reader allocates (the fuzzer sums them). */
  readonly onAllocate?: (bytes: number) => void;
}

/** The checked header: what the rest of the file must hold. */
interface Header {
  readonly version: 2 | 3;
  readonly boot: SavedBoot;
  readonly devicesBytes: number | null;
  /** Format 2's device state, already parsed with the header. */
  readonly devices: unknown;
  readonly v86Bytes: number;
  readonly diskBytes: number | null;
}

/** Reads one container from `src`, refusing it (StateFileError) at the first thing wrong. */
export async function readStateContainer(src: StateByteSource, o: ReadOptions = {}): Promise<SavedMachine> {
  const fail = (what: string): never => {
    throw new StateFileError(what);
  };
  let crc = 0;
  const verify = o.checksumVerifiedBy !== "gzip";
  /**
   * Exactly `n` bytes, in a buffer allocated once; `what` names them in a refusal.
   * `first.check` sees the first `first.bytes` of them before the rest is read.
   */
  const read = async (n: number, what: string, first?: { bytes: number; check: (head: Uint8Array) => void }): Promise<Uint8Array<ArrayBuffer>> => {
    o.onAllocate?.(n);
    const into = new Uint8Array(n);
    let got = 0;
    const fillTo = async (end: number) => {
      got += await src.fill(into.subarray(got, end));
      if (got < end) fail(`the file ends in ${what} (${got} of its ${n} bytes): it is cut short`);
    };
    if (first) {
      await fillTo(first.bytes);
      first.check(into.subarray(0, first.bytes));
    }
    await fillTo(n);
    if (verify) crc = crc32(into, crc);
    return into;
  };
  try {
    const prefix = await read(PREFIX_BYTES, "the magic");
    if (new TextDecoder().decode(prefix.subarray(0, MAGIC.length)) !== MAGIC) fail("wrong magic (not a state file)");
    const headerLen = new DataView(prefix.buffer).getUint32(MAGIC.length, true);
    const headerMax = MachineLimits.stateHeaderBytes + MachineLimits.deviceStateBytes;
    if (headerLen > headerMax) fail(`its header says ${headerLen} bytes, over the limit of ${headerMax}`);
    const h = checkHeader(await read(headerLen, "the header"), headerLen);
    let devices = h.devices;
    if (h.devicesBytes !== null) {
      const text = new TextDecoder().decode(await read(h.devicesBytes, "the device state"));
      try {
        devices = JSON.parse(text);
      } catch {
        fail("the device state is not JSON");
      }
    }
    const v86 = await read(h.v86Bytes, "v86's state", { bytes: 16, check: (head) => checkV86State(head, h.v86Bytes) });
    const disk = h.diskBytes === null ? null : await read(h.diskBytes, "the disk");
    const sum = crc;
    const trailer = await read(CRC_BYTES, "the checksum");
    if (verify && new DataView(trailer.buffer).getUint32(0, true) !== sum) fail("its checksum does not match (the file is damaged or was edited)");
    if (!(await src.atEnd())) fail("it goes on past the lengths its header declares (edited, or two files in one)");
    return { boot: h.boot, devices: devices as SavedDevices /* checked by restoreDeviceStates */, v86State: v86.buffer, disk };
  } catch (error) {
    await src.cancel().catch(() => {});
    throw error;
  }
}

function checkHeader(bytes: Uint8Array, headerLen: number): Header {
  const fail = (what: string): never => {
    throw new StateFileError(what);
  };
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  } catch {
    return fail("header is not JSON");
  }
  if (typeof h !== "object" || h === null || Array.isArray(h)) fail("header is not an object");
  if (h.kind !== SAVED_MACHINE_KIND) fail(`kind ${JSON.stringify(h.kind)}`);
  const version = h.version as 2 | 3;
  if (!READS.includes(version)) fail(`version ${JSON.stringify(h.version)}, this program reads ${READS.join(" and ")}`);
  if (version === 3 && headerLen > MachineLimits.stateHeaderBytes) fail(`its header is ${headerLen} bytes, over the limit of ${MachineLimits.stateHeaderBytes}`);
  const b = h.boot as Record<string, unknown> | null;
  if (typeof b !== "object" || b === null) return fail("boot options");
  const memory = memoryProblem(b.memoryMB);
  if (memory !== null) fail(`its memory: ${memory}`);
  const memoryMB = b.memoryMB as number;
  const ok =
    (b.msiMode === null || b.msiMode === "queue" || b.msiMode === "table" || b.msiMode === "line") &&
    (b.append === null || typeof b.append === "string") && typeof b.net === "string" &&
    (b.diskReadOnly === null || typeof b.diskReadOnly === "boolean") && (b.diskReadOnly === null) === (h.diskBytes === null);
  if (!ok) fail("boot options");
  /** A declared length within `max`, or a refusal that names the limit. */
  const length = (what: string, v: unknown, max: number, min = 0): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) fail(`its ${what} length ${JSON.stringify(v) ?? String(v)} is not a whole number of bytes from ${min} up to the limit of ${max}`);
    if ((v as number) > max) fail(`its ${what} is ${v as number} bytes, over the limit of ${max} (${mib(max)})`);
    return v as number;
  };
  const devicesBytes = version === 3 ? length("device state", h.devicesBytes, MachineLimits.deviceStateBytes) : null;
  const v86Max = memoryMB * 1024 * 1024 + MachineLimits.v86StateOverheadBytes;
  const v86Bytes = length(`v86 state (for ${memoryMB} MiB of memory)`, h.v86Bytes, v86Max, 16);
  const diskBytes = h.diskBytes === null ? null : length("disk", h.diskBytes, MachineLimits.diskBytes);
  return {
    version,
    boot: b as unknown as SavedBoot,
    devicesBytes,
    devices: version === 2 ? h.devices : null,
    v86Bytes,
    diskBytes,
  };
}

/** The start of v86's part: v86's magic, its own length and its index's, never a compressed state. */
function checkV86State(head: Uint8Array, length: number): void {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0, true);
  if (magic === ZSTD_MAGIC) throw new StateFileError("v86's state is zstd-compressed, which this program never writes and does not let v86 inflate");
  if (magic !== V86_STATE_MAGIC) throw new StateFileError("v86's state does not start with v86's magic");
  if (view.getUint32(8, true) !== length) throw new StateFileError("v86's state declares another length than the file gives it");
  // Its JSON index follows the 16 header bytes; v86 takes a view of it without checking.
  if (view.getUint32(12, true) > length - 16) throw new StateFileError("v86's state declares an index longer than itself");
}

/** A source over bytes already in memory (an uncompressed file), handed out in copies of what is asked. */
export function bytesSource(file: Uint8Array): StateByteSource {
  let at = 0;
  return {
    async fill(into) {
      const n = Math.min(into.length, file.length - at);
      into.set(file.subarray(at, at + n));
      at += n;
      return n;
    },
    async atEnd() {
      return at >= file.length;
    },
    async cancel() {},
  };
}

// The state file of a saved machine, shared by the `guest` command (--save FILE, --restore
// FILE) and the page (Save state, Restore state, ?state=URL): v86's state, our devices' states,
// the disk's bytes and the options that shaped the machine, in one file (uncompressed). Pure
// bytes in, bytes out (no DOM, no Node), so both front ends read and write the same files. Read
// back as untrusted: the magic, the header, every length and a CRC-32 over the whole file are
// checked here, the device states by restoreDeviceStates, v86's by v86.
//
// Layout: "V86MSIS1", the header's length (u32 LE), the header (JSON), v86's state, the disk's
// bytes, and (version 2 on) the CRC-32 of everything before it (u32 LE).

import { crc32 } from "./crc32.ts";
import type { SavedDevices } from "./device-states.ts";
import type { MsiMode } from "../platform/guest-cmdline.ts";

const MAGIC = "V86MSIS1";
export const SAVED_MACHINE_KIND = "v86-msi-saved-machine";
export const SAVED_MACHINE_VERSION = 2;
const CRC_BYTES = 4;

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

export function encodeSavedMachine(m: SavedMachine): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({
    kind: SAVED_MACHINE_KIND, version: SAVED_MACHINE_VERSION, boot: m.boot, devices: m.devices,
    v86Bytes: m.v86State.byteLength, diskBytes: m.disk?.length ?? null,
  }));
  const out = new Uint8Array(MAGIC.length + 4 + header.length + m.v86State.byteLength + (m.disk?.length ?? 0) + CRC_BYTES);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, header.length, true);
  let at = MAGIC.length + 4;
  out.set(header, at);
  at += header.length;
  out.set(new Uint8Array(m.v86State), at);
  at += m.v86State.byteLength;
  if (m.disk) out.set(m.disk, at);
  const end = out.length - CRC_BYTES;
  new DataView(out.buffer).setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

export function decodeSavedMachine(file: Uint8Array, o: { checksumVerifiedBy?: "gzip" } = {}): SavedMachine {
  const fail = (what: string): never => {
    throw new Error(`not a usable saved machine: ${what}`);
  };
  const raw = file;
  if (raw.length < MAGIC.length + 4 || new TextDecoder().decode(raw.subarray(0, MAGIC.length)) !== MAGIC) fail("wrong magic");
  const headerLen = new DataView(raw.buffer, raw.byteOffset).getUint32(MAGIC.length, true);
  const start = MAGIC.length + 4;
  if (start + headerLen > raw.length) fail("header longer than the file");
  let h: Record<string, unknown>;
  try {
    h = JSON.parse(new TextDecoder().decode(raw.subarray(start, start + headerLen))) as Record<string, unknown>;
  } catch {
    return fail("header is not JSON");
  }
  if (typeof h !== "object" || h === null) fail("header is not an object");
  if (h.kind !== SAVED_MACHINE_KIND) fail(`kind ${JSON.stringify(h.kind)}`);
  if (h.version !== SAVED_MACHINE_VERSION) fail(`version ${JSON.stringify(h.version)}, this program reads ${SAVED_MACHINE_VERSION}`);
  const v86Bytes = h.v86Bytes;
  const diskBytes = h.diskBytes;
  if (typeof v86Bytes !== "number" || !Number.isSafeInteger(v86Bytes) || v86Bytes <= 0) fail("v86 state length");
  if (diskBytes !== null && (typeof diskBytes !== "number" || !Number.isSafeInteger(diskBytes) || diskBytes < 0)) fail("disk length");
  const body = start + headerLen;
  const end = body + (v86Bytes as number) + ((diskBytes as number | null) ?? 0);
  if (end + CRC_BYTES !== raw.length) fail("lengths do not add up to the file (truncated or edited)");
  const b = h.boot as Record<string, unknown> | null;
  const ok =
    typeof b === "object" && b !== null &&
    typeof b.memoryMB === "number" && Number.isInteger(b.memoryMB) && b.memoryMB > 0 && b.memoryMB <= 4096 &&
    (b.msiMode === null || b.msiMode === "queue" || b.msiMode === "table" || b.msiMode === "line") &&
    (b.append === null || typeof b.append === "string") && typeof b.net === "string" &&
    (b.diskReadOnly === null || typeof b.diskReadOnly === "boolean") && (b.diskReadOnly === null) === (diskBytes === null);
  if (!ok) fail("boot options");
  // Bytes that came out of gzip were checked by gzip's own CRC-32 over exactly these bytes (the
  // decompressor refuses a mismatch): a second pass over tens of MiB would find nothing new.
  if (o.checksumVerifiedBy !== "gzip" && new DataView(raw.buffer, raw.byteOffset).getUint32(end, true) !== crc32(raw.subarray(0, end))) {
    fail("its checksum does not match (the file is damaged or was edited)");
  }
  // Copies (a Node Buffer's slice is a view into a shared pool).
  const v86 = new Uint8Array(raw.subarray(body, body + (v86Bytes as number)));
  return {
    boot: b as unknown as SavedBoot,
    devices: h.devices as SavedDevices, // checked by restoreDeviceStates
    v86State: v86.buffer,
    disk: diskBytes === null ? null : new Uint8Array(raw.subarray(body + (v86Bytes as number), end)),
  };
}

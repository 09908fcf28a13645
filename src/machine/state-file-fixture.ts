// A saved machine for the state file's tests (state-file, state-file-gzip, the fuzzer): small,
// with a v86 part that starts as v86's own does (its magic, version, total length), so the
// reader's check of that start passes and everything after it is the test's.

import { crc32 } from "./crc32.ts";
import type { SavedMachine } from "./state-file.ts";

/** `n` bytes shaped like v86's state: v86's magic, version 6 and `n` as its length, then `fill(i)`. */
export function fakeV86State(n: number, fill: (i: number) => number = (i) => i & 0xff): ArrayBuffer {
  const bytes = Uint8Array.from({ length: n }, (_, i) => fill(i));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x86768676, true);
  view.setUint32(4, 6, true);
  view.setUint32(8, n, true);
  view.setUint32(12, 0, true);
  return bytes.buffer;
}

export function fixtureMachine(o: { v86Bytes?: number; diskBytes?: number; fill?: (i: number) => number } = {}): SavedMachine {
  return {
    boot: { memoryMB: 128, msiMode: "table", append: null, net: "none", diskReadOnly: false },
    devices: { kind: "virtio-devices", version: 1, devices: [] },
    v86State: fakeV86State(o.v86Bytes ?? 1000, o.fill),
    disk: Uint8Array.from({ length: o.diskBytes ?? 4096 }, (_, i) => (i * 7) & 0xff),
  };
}

/** A container with `header` as its header and `body` after it, its CRC-32 made right. */
export function container(header: object, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(12 + h.length + body.length + 4);
  out.set(new TextEncoder().encode("V86MSIS1"));
  new DataView(out.buffer).setUint32(8, h.length, true);
  out.set(h, 12);
  out.set(body, 12 + h.length);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

/** The format-2 file of before (the device state inside the header), as the code of then wrote it. */
export function encodeFormat2(m: SavedMachine): Uint8Array {
  const v86 = new Uint8Array(m.v86State);
  const body = new Uint8Array(v86.length + (m.disk?.length ?? 0));
  body.set(v86);
  if (m.disk) body.set(m.disk, v86.length);
  return container({ kind: "v86-msi-saved-machine", version: 2, boot: m.boot, devices: m.devices, v86Bytes: v86.length, diskBytes: m.disk?.length ?? null }, body);
}

// Saved machines and hand-made containers for the state file's tests (state-file, the fuzzer):
// a small machine, a container with any header, and the format-2 file of before.

import { crc32 } from "./crc32.ts";
import type { SavedMachine } from "./state-file.ts";

/** A machine with `v86State` (src/testing/fake-v86-state.ts makes one) and a small disk. */
export function fixtureMachine(v86State: ArrayBuffer, o: { diskBytes?: number } = {}): SavedMachine {
  return {
    boot: { memoryMB: 128, msiMode: "table", append: null, net: "none", diskReadOnly: false },
    devices: { kind: "virtio-devices", version: 1, devices: [] },
    v86State,
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

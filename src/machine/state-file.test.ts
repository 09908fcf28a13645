// The state file of `guest --save/--restore` and of the page's Save/Restore state: what goes in
// comes out; a truncated, edited or foreign file is refused with the reason.
import { describe, expect, it } from "vitest";
import { decodeSavedMachine, encodeSavedMachine, type SavedMachine } from "./state-file.ts";

const machine = (): SavedMachine => ({
  boot: { memoryMB: 128, msiMode: "table", append: null, net: "none", diskReadOnly: false },
  devices: { kind: "virtio-devices", version: 1, devices: [] },
  v86State: Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff).buffer,
  disk: Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff),
});

describe("saved machine file", () => {
  it("round-trips every part", () => {
    const m = machine();
    const back = decodeSavedMachine(encodeSavedMachine(m));
    expect(back.boot).toEqual(m.boot);
    expect(back.devices).toEqual(m.devices);
    expect(new Uint8Array(back.v86State)).toEqual(new Uint8Array(m.v86State));
    expect(back.disk).toEqual(m.disk);
    const noDisk = decodeSavedMachine(encodeSavedMachine({ ...m, disk: null, boot: { ...m.boot, diskReadOnly: null } }));
    expect(noDisk.disk).toBeNull();
  });

  it("refuses a truncated, edited or foreign file", () => {
    const file = encodeSavedMachine(machine());
    expect(() => decodeSavedMachine(file.subarray(0, file.length - 1))).toThrow(/lengths do not add up/);
    expect(() => decodeSavedMachine(file.subarray(0, 40))).toThrow(/header longer than the file/);
    const foreign = Uint8Array.from(file);
    foreign[0] = 0x41;
    expect(() => decodeSavedMachine(foreign)).toThrow(/wrong magic/);
    /** The file with one string of its header replaced by another of the same length. */
    const edited = (from: string, to: string) => {
      const copy = Uint8Array.from(file);
      const at = Buffer.from(copy).indexOf(from);
      expect(at).toBeGreaterThan(0);
      copy.set(new TextEncoder().encode(to), at);
      return copy;
    };
    expect(() => decodeSavedMachine(edited('"version":2', '"version":7'))).toThrow(/version 7, this program reads 2/);
    expect(() => decodeSavedMachine(edited('"memoryMB":128', '"memoryMB":-12'))).toThrow(/boot options/);
    expect(() => decodeSavedMachine(edited('"msiMode":"table"', '"msiMode":"tabel"'))).toThrow(/boot options/);
    expect(() => decodeSavedMachine(edited('"v86Bytes":1000', '"v86Bytes":1001'))).toThrow(/lengths do not add up/);
    expect(() => decodeSavedMachine(new TextEncoder().encode("hello"))).toThrow(/wrong magic/);
    // A byte changed anywhere that keeps the file well-formed: in v86's state, in the disk, in
    // the checksum itself.
    const v86At = file.length - 4 - 4096 - 1000;
    for (const at of [v86At, v86At + 999, file.length - 4 - 1, file.length - 1]) {
      const copy = Uint8Array.from(file);
      copy[at]! ^= 0x10;
      expect(() => decodeSavedMachine(copy), `byte ${at}`).toThrow(/checksum does not match/);
    }
    // An edit the header's checks cannot see (another valid memory size).
    expect(() => decodeSavedMachine(edited('"memoryMB":128', '"memoryMB":256'))).toThrow(/checksum does not match/);
  });
});

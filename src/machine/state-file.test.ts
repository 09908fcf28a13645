// The state file of `guest --save/--restore` and of the page's Save/Restore state: what goes in
// comes out; a truncated, edited or foreign file is refused with the reason, and a declared
// length or memory size past MachineLimits is refused naming the limit, before it is read.
import { describe, expect, it } from "vitest";
import { encodeSavedMachine, StateFileError, type SavedMachine } from "./state-file.ts";
import { container, encodeFormat2, fixtureMachine } from "./state-file-fixture.ts";
import { fakeV86State } from "../testing/fake-v86-state.ts";
import { unpackSavedMachine } from "./state-file-gzip.ts";

const machine = (): SavedMachine => fixtureMachine(fakeV86State(1000));
const read = (bytes: Uint8Array) => unpackSavedMachine(bytes);

describe("saved machine file", () => {
  it("round-trips every part, and still reads format 2", async () => {
    const m = machine();
    for (const file of [encodeSavedMachine(m), encodeFormat2(m)]) {
      const back = await read(file);
      expect(back.boot).toEqual(m.boot);
      expect(back.devices).toEqual(m.devices);
      expect(new Uint8Array(back.v86State)).toEqual(new Uint8Array(m.v86State));
      expect(back.disk).toEqual(m.disk);
    }
    const noDisk = await read(encodeSavedMachine({ ...m, disk: null, boot: { ...m.boot, diskReadOnly: null } }));
    expect(noDisk.disk).toBeNull();
  });

  it("refuses a truncated, edited or foreign file", async () => {
    const file = encodeSavedMachine(machine());
    await expect(read(file.subarray(0, file.length - 1))).rejects.toThrow(/the file ends in the checksum \(3 of its 4 bytes\): it is cut short/);
    await expect(read(file.subarray(0, 40))).rejects.toThrow(/the file ends in the header/);
    await expect(read(Uint8Array.from([...file, 0]))).rejects.toThrow(/goes on past the lengths its header declares/);
    const foreign = Uint8Array.from(file);
    foreign[0] = 0x41;
    await expect(read(foreign)).rejects.toThrow(/wrong magic/);
    /** The file with one string of its header replaced by another of the same length. */
    const edited = (from: string, to: string) => {
      const copy = Uint8Array.from(file);
      const at = Buffer.from(copy).indexOf(from);
      expect(at).toBeGreaterThan(0);
      copy.set(new TextEncoder().encode(to), at);
      return copy;
    };
    await expect(read(edited('"version":3', '"version":7'))).rejects.toThrow(/version 7, this program reads 2 and 3/);
    await expect(read(edited('"memoryMB":128', '"memoryMB":-12'))).rejects.toThrow(/its memory: -12 MiB is outside the supported memory range of 80 to 2047 MiB/);
    await expect(read(edited('"msiMode":"table"', '"msiMode":"tabel"'))).rejects.toThrow(/boot options/);
    await expect(read(edited('"v86Bytes":1000', '"v86Bytes":1001'))).rejects.toThrow(/v86's state declares another length/);
    await expect(read(new TextEncoder().encode("hello"))).rejects.toThrow(/the file ends in the magic/);
    // A byte changed anywhere that keeps the file well-formed: in v86's state, in the disk, in
    // the checksum itself.
    const v86At = file.length - 4 - 4096 - 1000;
    for (const at of [v86At + 16, v86At + 999, file.length - 4 - 1, file.length - 1]) {
      const copy = Uint8Array.from(file);
      copy[at]! ^= 0x10;
      await expect(read(copy), `byte ${at}`).rejects.toThrow(/checksum does not match/);
    }
    // An edit the header's checks cannot see (another valid memory size).
    await expect(read(edited('"memoryMB":128', '"memoryMB":256'))).rejects.toThrow(/checksum does not match/);
    // Every refusal is a StateFileError.
    await expect(read(foreign)).rejects.toBeInstanceOf(StateFileError);
  });

  it("refuses what passes the limits before reading it, naming the limit", async () => {
    const m = machine();
    const boot = { ...m.boot };
    const h = { kind: "v86-msi-saved-machine", version: 3, boot, devicesBytes: 2, v86Bytes: 1000, diskBytes: 4096 };
    // Memory v86 does not build as asked (it wraps 4096 MiB to nothing).
    await expect(read(container({ ...h, boot: { ...boot, memoryMB: 4096 } }))).rejects.toThrow(
      "not a usable saved machine: its memory: 4096 MiB is outside the supported memory range of 80 to 2047 MiB (v86 does not build 2048 MiB or more as asked)",
    );
    await expect(read(container({ ...h, boot: { ...boot, memoryMB: 2048 } }))).rejects.toThrow(/its memory: 2048 MiB is outside the supported memory range of 80 to 2047 MiB/);
    // Lengths past the limits: nothing after the header is there, and nothing is read.
    await expect(read(container({ ...h, devicesBytes: 4 * 2 ** 20 + 1 }))).rejects.toThrow(/its device state is 4194305 bytes, over the limit of 4194304 \(4 MiB\)/);
    await expect(read(container({ ...h, v86Bytes: 2 ** 31 }))).rejects.toThrow(/its v86 state \(for 128 MiB of memory\) is 2147483648 bytes, over the limit of 201326592 \(192 MiB\)/);
    await expect(read(container({ ...h, diskBytes: 2 ** 40 }))).rejects.toThrow(/its disk is 1099511627776 bytes, over the limit of 1073741824 \(1024 MiB\)/);
    // A header length past its limit is refused from the first 12 bytes.
    const prefix = new Uint8Array(12);
    prefix.set(new TextEncoder().encode("V86MSIS1"));
    new DataView(prefix.buffer).setUint32(8, 0xffffffff, true);
    await expect(read(prefix)).rejects.toThrow(/its header says 4294967295 bytes, over the limit of 4259840/);
    // A v86 part that is not v86's, or that v86 would inflate (zstd).
    const zstd = new Uint8Array(m.v86State.slice(0));
    new DataView(zstd.buffer).setUint32(0, 0xfd2fb528, true);
    await expect(read(encodeSavedMachine({ ...m, v86State: zstd.buffer }))).rejects.toThrow(/zstd-compressed/);
    await expect(read(encodeSavedMachine({ ...m, v86State: new Uint8Array(1000).buffer }))).rejects.toThrow(/does not start with v86's magic/);
    const index = new Uint8Array(m.v86State.slice(0));
    new DataView(index.buffer).setUint32(12, 985, true);
    await expect(read(encodeSavedMachine({ ...m, v86State: index.buffer }))).rejects.toThrow(/v86's state declares an index longer than itself/);
  });

  it("will not write a device state past the limit", () => {
    const m = machine();
    const big = { ...m.devices, devices: [{ pad: "x".repeat(4 * 2 ** 20) }] } as unknown as SavedMachine["devices"];
    expect(() => encodeSavedMachine({ ...m, devices: big })).toThrow(/device state is 4\.0 MiB, over the limit of 4 MiB/);
  });
});

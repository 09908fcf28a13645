// The compressed state file: what goes in comes out, an uncompressed file of before still reads,
// and a cut, damaged or overlong compressed file is refused with the reason.
import { describe, expect, it } from "vitest";
import { encodeSavedMachine, type SavedMachine } from "./state-file.ts";
import { isCompressedStateFile, packSavedMachine, unpackSavedMachine } from "./state-file-gzip.ts";
import { fakeV86State } from "../testing/fake-v86-state.ts";

const machine = (): SavedMachine => ({
  boot: { memoryMB: 128, msiMode: "queue", append: null, net: "none", diskReadOnly: false },
  devices: { kind: "virtio-devices", version: 1, devices: [] },
  // Like v86's state: long zero runs between busy pages.
  v86State: fakeV86State(256 * 1024, (i) => (i % 8192 < 1024 ? (i * 13) & 0xff : 0)),
  disk: Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i < 4096 ? i & 0xff : 0)),
});

const gzipOf = async (bytes: Uint8Array) =>
  new Uint8Array(await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());

describe("compressed state file", () => {
  it("round-trips every part, compressed", async () => {
    const m = machine();
    const file = await packSavedMachine(m);
    expect(isCompressedStateFile(file)).toBe(true);
    expect(file.length).toBeLessThan(encodeSavedMachine(m).length / 4);
    const back = await unpackSavedMachine(file);
    expect(back.boot).toEqual(m.boot);
    expect(back.devices).toEqual(m.devices);
    expect(new Uint8Array(back.v86State)).toEqual(new Uint8Array(m.v86State));
    expect(back.disk).toEqual(m.disk);
  });

  it("still reads an uncompressed file", async () => {
    const plain = encodeSavedMachine(machine());
    expect(isCompressedStateFile(plain)).toBe(false);
    expect((await unpackSavedMachine(plain)).boot.msiMode).toBe("queue");
  });

  it("refuses a cut or damaged compressed file, and a bomb after its first bytes", async () => {
    const file = await packSavedMachine(machine());
    await expect(unpackSavedMachine(file.subarray(0, file.length - 100))).rejects.toThrow(/compressed data is cut short or damaged/);
    await expect(unpackSavedMachine(file.subarray(0, 12))).rejects.toThrow(/compressed data is cut short or damaged/);
    // A byte changed in the middle: inflate fails or gzip's CRC-32 does not match.
    for (const at of [20, file.length >> 1, file.length - 6]) {
      const copy = file.slice();
      copy[at]! ^= 0x40;
      await expect(unpackSavedMachine(copy), `byte ${at}`).rejects.toThrow(/not a usable saved machine/);
    }
    // Well-formed gzip of something that is not a container, and a bomb: refused by its magic
    // with no more than a few chunks inflated (the reader allocates 12 bytes).
    await expect(unpackSavedMachine(await gzipOf(new TextEncoder().encode("hello")))).rejects.toThrow(/the file ends in the magic/);
    const bomb = await gzipOf(new Uint8Array(64 << 20));
    expect(bomb.length).toBeLessThan(128 * 1024);
    let allocated = 0;
    await expect(unpackSavedMachine(bomb, { onAllocate: (n) => (allocated += n) })).rejects.toThrow(/wrong magic/);
    expect(allocated).toBe(12);
    // A good file with more compressed data after it (a second gzip member).
    const twice = new Uint8Array([...file, ...(await gzipOf(new Uint8Array(100)))]);
    await expect(unpackSavedMachine(twice)).rejects.toThrow(/goes on past the lengths its header declares|cut short or damaged/);
  });
});

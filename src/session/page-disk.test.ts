import { describe, expect, it } from "vitest";
import { openPageDisk, padToSectors } from "./page-disk.ts";

describe("page disk", () => {
  it("pads an uploaded image to whole sectors, keeping its bytes", () => {
    const image = new Uint8Array(1000).fill(7);
    const padded = new Uint8Array(padToSectors(image.buffer));
    expect(padded.length).toBe(1024);
    expect(padded.subarray(0, 1000).every((b) => b === 7)).toBe(true);
    expect(padded.subarray(1000).every((b) => b === 0)).toBe(true);
    const whole = new ArrayBuffer(4096);
    expect(padToSectors(whole)).toBe(whole);
  });

  it("opens an upload as a memory-only overlay the guest can write over", async () => {
    const disk = await openPageDisk({ kind: "upload", name: "a.img", image: new Uint8Array(512).fill(1).buffer }, { persist: true, storeSuffix: "" });
    expect(disk.persisted).toBe(false);
    expect(disk.label).toBe("a.img");
    await disk.overlay.write(0, new Uint8Array([9, 9]));
    const out = await disk.overlay.exportImage();
    expect([...out.subarray(0, 3)]).toEqual([9, 9, 1]);
  });

  it("refuses an empty upload with a reason", async () => {
    await expect(openPageDisk({ kind: "upload", name: "empty.img", image: new ArrayBuffer(0) }, { persist: false, storeSuffix: "" })).rejects.toThrow(/empty/);
  });
});

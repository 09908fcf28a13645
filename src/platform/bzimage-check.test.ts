// The kernel check every door runs before v86 sees a kernel: the committed guest's bzImage
// passes; a web page, a cut file, an old or odd-sized image are refused saying what is wrong.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkBzImage } from "./bzimage-check.ts";

const guest = new Uint8Array(readFileSync(new URL("../../public/guest/bzImage", import.meta.url)));

describe("checkBzImage", () => {
  it("takes the committed guest's kernel", () => {
    const facts = checkBzImage(guest, "console=ttyS0");
    expect(facts).toMatchObject({ cmdlineMax: 2047 });
    expect((facts as { protocol: number }).protocol).toBeGreaterThanOrEqual(0x20f);
  });

  it("refuses what v86 would throw on or skip, saying what is wrong", () => {
    const html = new TextEncoder().encode(`<!doctype html><html>${"<p>x</p>".repeat(200)}</html>\n`);
    expect(checkBzImage(html)).toEqual({ problem: 'not a Linux kernel (bzImage) v86 can load: no "HdrS" setup header at 0x202 (is it an HTML page, an ELF vmlinux or a compressed file?)' });
    expect(checkBzImage(new Uint8Array(100))).toEqual({ problem: "not a Linux kernel (bzImage) v86 can load: 100 bytes is too short for the setup header" });
    expect(checkBzImage(guest.subarray(0, guest.length - 1))).toEqual({ problem: `not a Linux kernel (bzImage) v86 can load: its length (${guest.length - 1} bytes) is not a multiple of 4, which v86's loader needs` });
    const old = guest.slice(0, 8192);
    old[0x206] = 0x01;
    expect(checkBzImage(old)).toEqual({ problem: "not a Linux kernel (bzImage) v86 can load: boot protocol 2.01 is older than 2.02" });
    const low = guest.slice(0, 65536);
    low[0x211] = 0;
    expect(checkBzImage(low)).toEqual({ problem: "not a Linux kernel (bzImage) v86 can load: it is not loaded high (an old zImage, loadflags bit 0 clear)" });
    expect(checkBzImage(guest.slice(0, 1024))).toMatchObject({ problem: expect.stringMatching(/leaves no kernel after it/) });
    expect(checkBzImage(new Uint8Array(64 * 2 ** 20))).toMatchObject({ problem: expect.stringMatching(/64 MiB is over the limit of 63 MiB/) });
    expect(checkBzImage(guest, "x".repeat(2047))).toEqual({ problem: "the kernel command line is 2047 characters; this kernel takes at most 2045" });
  });
});

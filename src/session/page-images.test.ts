import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { imageLoadProblem, imageMaxBytes, imageProblem, pageImageUrls, pageStart } from "./page-images.ts";
import { parseSettings } from "./settings.ts";

const buf = (n: number): ArrayBuffer => new Uint8Array([n]).buffer;

describe("the page's images", () => {
  it("fetches the disk whole unless it is lazy or absent, and the state file when given", () => {
    expect(pageImageUrls(parseSettings("").settings)).toEqual({
      bios: "guest/bios.bin", vgaBios: "guest/vgabios.bin", kernel: "guest/bzImage", initrd: "guest/initrd.img", disk: "guest/disk.img",
    });
    expect(Object.keys(pageImageUrls(parseSettings("?lazy=1&state=vm.state").settings))).toEqual(["bios", "vgaBios", "kernel", "initrd", "state"]);
    expect(pageImageUrls(parseSettings("?disk=none").settings)["disk"]).toBeUndefined();
    // One VM from a state file (which carries its disk): the page's disk is not fetched whole;
    // with a second VM, which boots on it, it is.
    expect(Object.keys(pageImageUrls(parseSettings("?state=vm.state").settings))).toEqual(["bios", "vgaBios", "kernel", "initrd", "state"]);
    expect(pageImageUrls(parseSettings("?state=vm.state&net=switch").settings)["disk"]).toBe("guest/disk.img");
  });

  it("hands every VM the disk (read lazily without its bytes) and VM 1 the state file", () => {
    const files = { bios: buf(1), vgaBios: buf(2), kernel: buf(3), initrd: buf(4), disk: buf(5), state: buf(6) };
    const start = pageStart(parseSettings("?state=vm.state").settings, files);
    expect(start.images).toEqual({ bios: files.bios, vgaBios: files.vgaBios, kernel: files.kernel, initrd: files.initrd });
    expect(start.disk).toEqual({ kind: "url", url: "guest/disk.img", image: files.disk });
    expect(start.state).toEqual({ bytes: new Uint8Array([6]), label: "vm.state" });
    const lazy = pageStart(parseSettings("?lazy=1").settings, { bios: buf(1), vgaBios: buf(2), kernel: buf(3), initrd: buf(4) });
    expect(lazy.disk).toEqual({ kind: "url", url: "guest/disk.img" });
    expect(lazy.state).toBeUndefined();
    expect(pageStart(parseSettings("?disk=none").settings, files).disk).toBeNull();
  });

  it("says which file failed and what to do: the state parameter, or the image's", () => {
    const s = parseSettings("?state=vm.state").settings;
    expect(imageLoadProblem(s, "vm.state", "404").help).toMatch(/^Check that the state file vm.state exists.*without the state parameter/);
    expect(imageLoadProblem(s, "guest/bzImage", "404").help).toMatch(/^Check that guest\/bzImage exists/);
    expect(imageLoadProblem(s, null, "boom")).toEqual({ title: "A guest image failed to load", text: "boom", help: expect.stringMatching(/^Check that an image exists/) });
  });

  it("refuses a kernel v86 cannot boot before any emulator is built, saying what is wrong", () => {
    const s = parseSettings("?kernel=index.html").settings;
    const html = new TextEncoder().encode("<!doctype html>".padEnd(4096, " ")).buffer;
    const kernel = readFileSync(new URL("../../public/guest/bzImage", import.meta.url));
    const files = { bios: buf(1), vgaBios: buf(2), initrd: buf(4) };
    expect(imageProblem(s, { ...files, kernel: html })).toEqual({
      title: "The kernel cannot be booted",
      text: 'index.html is not a Linux kernel (bzImage) v86 can load: no "HdrS" setup header at 0x202 (is it an HTML page, an ELF vmlinux or a compressed file?).',
      help: "Give kernel= a bzImage built for x86 (arch/x86/boot/bzImage), or open the page without the kernel parameter.",
    });
    expect(imageProblem(s, { ...files, kernel: kernel.buffer.slice(kernel.byteOffset, kernel.byteOffset + kernel.length) })).toBeNull();
  });

  it("caps each download by MachineLimits", () => {
    const s = parseSettings("?mem=256").settings;
    expect(imageMaxBytes(s, "kernel")).toBe(63 * 2 ** 20);
    expect(imageMaxBytes(s, "initrd")).toBe(192 * 2 ** 20);
    expect(imageMaxBytes(s, "disk")).toBe(2 ** 30);
    expect(imageMaxBytes(s, "state")).toBeGreaterThan(3 * 2 ** 30);
    expect(imageMaxBytes(s, "bios")).toBe(2 ** 20);
  });
});

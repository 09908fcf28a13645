import { describe, expect, it } from "vitest";
import { parseMsiChoice } from "./msi-layout-option.ts";

describe("guest --msi-layout and --no-msi", () => {
  it("takes each layout, v3 by default, and --no-msi for the line", () => {
    expect(parseMsiChoice("v3", false)).toBe("queue");
    expect(parseMsiChoice("2020", false)).toBe("table");
    expect(parseMsiChoice(undefined, false)).toBe("queue");
    expect(parseMsiChoice(undefined, true)).toBe("line");
  });

  it("refuses an unknown layout, naming the ones it knows", () => {
    expect(() => parseMsiChoice("v2", false)).toThrow('--msi-layout wants one of v3, 2020, not "v2"');
    expect(() => parseMsiChoice("", false)).toThrow(/not ""/);
    expect(() => parseMsiChoice("V3", false)).toThrow(/not "V3"/);
  });

  it("refuses --no-msi with a layout", () => {
    expect(() => parseMsiChoice("v3", true)).toThrow("--no-msi means no MSI layout at all: it contradicts --msi-layout v3");
    expect(() => parseMsiChoice("2020", true)).toThrow(/contradicts --msi-layout 2020/);
  });

  it("refuses a kernel argument in --append that asks for something else", () => {
    expect(() => parseMsiChoice("v3", false, "quiet virtio_mmio.msi_layout=2020")).toThrow(/msi_layout=2020, which contradicts --msi-layout v3/);
    expect(() => parseMsiChoice(undefined, false, "virtio_mmio.msi_layout=2020")).toThrow(/contradicts --msi-layout v3/);
    expect(() => parseMsiChoice(undefined, true, "virtio_mmio.msi_layout=2020")).toThrow(/contradicts --no-msi/);
    expect(() => parseMsiChoice("2020", false, "virtio_mmio.msi=0")).toThrow(/turns MSI off/);
    expect(() => parseMsiChoice(undefined, false, "virtio_mmio.msi=N loglevel=3")).toThrow(/turns MSI off/);
  });

  it("accepts an --append that agrees, or says nothing about MSI", () => {
    expect(parseMsiChoice("2020", false, "virtio_mmio.msi_layout=2020")).toBe("table");
    expect(parseMsiChoice(undefined, true, "virtio_mmio.msi=0")).toBe("line");
    expect(parseMsiChoice("v3", false, "virtio_mmio.msi=1 loglevel=3")).toBe("queue");
  });
});

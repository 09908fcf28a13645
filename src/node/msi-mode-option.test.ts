import { describe, expect, it } from "vitest";
import { parseMsiMode } from "./msi-mode-option.ts";

describe("guest --msi-mode", () => {
  it("takes each mode, and leaves the choice to the driver without one", () => {
    expect(parseMsiMode("queue", false)).toBe("queue");
    expect(parseMsiMode("table", false)).toBe("table");
    expect(parseMsiMode("line", false)).toBe("line");
    expect(parseMsiMode(undefined, false)).toBeUndefined();
  });

  it("reads --no-msi as --msi-mode line, alone or with it", () => {
    expect(parseMsiMode(undefined, true)).toBe("line");
    expect(parseMsiMode("line", true)).toBe("line");
  });

  it("refuses an unknown mode, naming the ones it knows", () => {
    expect(() => parseMsiMode("vector", false)).toThrow('--msi-mode wants one of queue, table, line, not "vector"');
    expect(() => parseMsiMode("", false)).toThrow(/not ""/);
    expect(() => parseMsiMode("Queue", false)).toThrow(/not "Queue"/);
  });

  it("refuses --no-msi with an MSI mode", () => {
    expect(() => parseMsiMode("queue", true)).toThrow("--no-msi means --msi-mode line: it contradicts --msi-mode queue");
    expect(() => parseMsiMode("table", true)).toThrow(/contradicts --msi-mode table/);
  });

  it("refuses a kernel argument in --append that asks for something else", () => {
    expect(() => parseMsiMode("queue", false, "quiet virtio_mmio.msi_mode=table")).toThrow(/msi_mode=table, which contradicts --msi-mode queue/);
    expect(() => parseMsiMode(undefined, true, "virtio_mmio.msi_mode=queue")).toThrow(/contradicts --no-msi/);
    expect(() => parseMsiMode("table", false, "virtio_mmio.msi=0")).toThrow(/turns MSI off/);
    expect(() => parseMsiMode("queue", false, "virtio_mmio.msi=N loglevel=3")).toThrow(/turns MSI off/);
  });

  it("accepts an --append that agrees, or says nothing about MSI", () => {
    expect(parseMsiMode("table", false, "virtio_mmio.msi_mode=table")).toBe("table");
    expect(parseMsiMode("line", false, "virtio_mmio.msi=0")).toBe("line");
    expect(parseMsiMode("queue", false, "virtio_mmio.msi=1 loglevel=3")).toBe("queue");
    expect(parseMsiMode(undefined, false, "virtio_mmio.msi_mode=table")).toBeUndefined();
  });
});

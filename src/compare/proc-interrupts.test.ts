import { describe, expect, it } from "vitest";
import { deviceIrqs, irqTotal, parseInterrupts } from "./proc-interrupts.ts";

// Copied from the guest's own output: MSI mode (blk virtio0, net virtio1), then the line.
const MSI = `           CPU0       
  0:         16   IO-APIC   0-edge      timer
  4:        531   IO-APIC   4-edge      ttyS0
 24:          0  virtio-mmio-MSI   0-edge      virtio0-config
 25:          4  virtio-mmio-MSI   1-edge      virtio0-req.0
 26:          0  virtio-mmio-MSI   0-edge      virtio1-config
 27:          8  virtio-mmio-MSI   1-edge      virtio1-input.0
 28:          8  virtio-mmio-MSI   2-edge      virtio1-output.0
NMI:          0   Non-maskable interrupts
LOC:        303   Local timer interrupts
ERR:          0
`;
const LINE = `           CPU0
  5:        120   IO-APIC   5-fasteoi   virtio0
 10:         33   IO-APIC  10-fasteoi   virtio1
`;

describe("parseInterrupts", () => {
  it("reads numbered rows with chip and name, and the architecture's rows", () => {
    const rows = parseInterrupts(MSI);
    expect(rows.find((r) => r.irq === "25")).toEqual({ irq: "25", count: 4, chip: "virtio-mmio-MSI", name: "virtio0-req.0" });
    expect(rows.find((r) => r.irq === "LOC")).toEqual({ irq: "LOC", count: 303, chip: "", name: "Local timer interrupts" });
    expect(rows.some((r) => r.irq === "CPU0")).toBe(false);
  });

  it("finds a device's interrupts by its virtio index, MSI or line", () => {
    const msi = parseInterrupts(MSI);
    expect(deviceIrqs(msi, 0).map((r) => r.name)).toEqual(["virtio0-config", "virtio0-req.0"]);
    expect(deviceIrqs(msi, 1)).toHaveLength(3);
    expect(deviceIrqs(parseInterrupts(LINE), 1)).toEqual([{ irq: "10", count: 33, chip: "IO-APIC", name: "virtio1" }]);
    expect(deviceIrqs(msi, 2)).toEqual([]);
  });

  it("does not take virtio1 for virtio10", () => {
    const rows = parseInterrupts(" 30:  7  virtio-mmio-MSI  1-edge  virtio10-req.0\n");
    expect(deviceIrqs(rows, 1)).toEqual([]);
  });

  it("sums counts by name", () => {
    expect(irqTotal(parseInterrupts(MSI), /virtio/)).toBe(20);
  });
});

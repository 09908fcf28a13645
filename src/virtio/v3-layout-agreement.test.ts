// The v3 layout is written down in four places that must say the same: the devices' constants
// (src/virtio/constants.ts), the driver series (guest/patches/), the project's page
// (docs/virtio-mmio-msi-v3.md) and the patch to the virtio specification (docs/spec/). The
// feature bit is provisional, so each of them holds it in one place; this test reads all four.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FEATURE, REG } from "./constants.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const patches = () =>
  readdirSync(join(ROOT, "guest/patches"))
    .filter((f) => /^\d{4}-.*\.patch$/.test(f) && !f.startsWith("0000-"))
    .map((f) => ({ name: f, text: read(`guest/patches/${f}`) }));
const upstream = () => patches().filter((p) => !/^Subject:.*NOT FOR UPSTREAM/m.test(p.text));
const specPatch = () => read("docs/spec/0001-transport-mmio-message-signalled-interrupts-per-virtqueue.patch");

/** The driver's register defines (VIRTIO_MMIO_QUEUE_MSI_ADDR_LOW -> 0x0c4) added by the series. */
function driverDefines(): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of upstream()) {
    for (const m of p.text.matchAll(/^\+#define\s+(VIRTIO_MMIO_\w+|VIRTIO_F_MMIO_MSI)\s+(0x[0-9a-f]+|\d+)\s*$/gim)) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The spec patch's register table: \mmioreg{Name}{...}{0x0c4} and \mmiodreg{Low}{High}{...}{0x0c4}{0x0c8}. */
function specRegisters(): Map<string, number> {
  const out = new Map<string, number>();
  const text = specPatch();
  for (const m of text.matchAll(/^\+\s*\\mmioreg\{(\w+)\}\{[^}]*\}\{(0x[0-9a-f]+)\}/gm)) out.set(m[1]!, Number(m[2]));
  for (const m of text.matchAll(/^\+\s*\\mmiodreg\{(\w+)\}\{(\w+)\}\{[^}]*\}\{(0x[0-9a-f]+)\}\{(0x[0-9a-f]+)\}/gm)) {
    out.set(m[1]!, Number(m[3]));
    out.set(m[2]!, Number(m[4]));
  }
  return out;
}

const V3_REGISTERS = {
  QueueMsiAddrLow: "VIRTIO_MMIO_QUEUE_MSI_ADDR_LOW",
  QueueMsiAddrHigh: "VIRTIO_MMIO_QUEUE_MSI_ADDR_HIGH",
  QueueMsiData: "VIRTIO_MMIO_QUEUE_MSI_DATA",
  QueueMsiControl: "VIRTIO_MMIO_QUEUE_MSI_CONTROL",
  ConfigMsiAddrLow: "VIRTIO_MMIO_CONFIG_MSI_ADDR_LOW",
  ConfigMsiAddrHigh: "VIRTIO_MMIO_CONFIG_MSI_ADDR_HIGH",
  ConfigMsiData: "VIRTIO_MMIO_CONFIG_MSI_DATA",
  ConfigMsiControl: "VIRTIO_MMIO_CONFIG_MSI_CONTROL",
  MsiControl: "VIRTIO_MMIO_MSI_CONTROL",
  MsiVectorHint: "VIRTIO_MMIO_MSI_VECTOR_HINT",
  QueueReset: "VIRTIO_MMIO_QUEUE_RESET",
} as const;

describe("the v3 layout, as the devices, the driver series, docs/ and the spec patch give it", () => {
  it("has one feature bit everywhere, from the range virtio 1.4 reserves (44-49)", () => {
    const bit = FEATURE.MMIO_MSI.toString(2).length - 1;
    expect(FEATURE.MMIO_MSI).toBe(1n << BigInt(bit));
    expect(bit).toBeGreaterThanOrEqual(44);
    expect(bit).toBeLessThanOrEqual(49);
    expect(driverDefines().get("VIRTIO_F_MMIO_MSI")).toBe(bit);
    expect(read("docs/virtio-mmio-msi-v3.md")).toMatch(new RegExp(`\\| ${bit} \\| VIRTIO_F_MMIO_MSI \\| \\*\\*provisional\\*\\*`));
    expect(specPatch()).toContain(`\\item[VIRTIO_F_MMIO_MSI(${bit})]`);
    // Not virtio 1.4's RING_RESET, which the devices offer beside it.
    expect(FEATURE.RING_RESET).toBe(1n << 40n);
    expect(FEATURE.MMIO_MSI).not.toBe(FEATURE.RING_RESET);
  });

  it("puts every register at the same offset, within 0x0c0-0x0f8, in the devices, the driver and the spec", () => {
    const driver = driverDefines();
    const spec = specRegisters();
    for (const [name, define] of Object.entries(V3_REGISTERS)) {
      const offset = REG[name as keyof typeof REG];
      expect(offset, name).toBeGreaterThanOrEqual(0x0c0);
      expect(offset, name).toBeLessThanOrEqual(0x0f8);
      expect(driver.get(define), `${define} in the driver series`).toBe(offset);
      if (name !== "QueueReset") expect(spec.get(name), `${name} in the spec patch`).toBe(offset);
      expect(read("docs/virtio-mmio-msi-v3.md"), `${name} in docs`).toMatch(new RegExp(`\\| 0x${offset.toString(16).padStart(3, "0")} \\| ${name} \\|`));
    }
  });

  it("the series meant for upstream includes no asm/ or IOMMU-private header from drivers/virtio", () => {
    for (const p of upstream()) {
      for (const file of p.text.split(/^diff --git /m).slice(1)) {
        if (!file.startsWith("a/drivers/virtio/")) continue;
        expect(file, p.name).not.toMatch(/^\+#include <asm\//m);
        expect(file, p.name).not.toMatch(/^\+#include ".*iommu/m);
        expect(file, p.name).not.toMatch(/IRQ_MOVE_PCNTXT/);
      }
    }
  });
});

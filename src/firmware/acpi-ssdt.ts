// An SSDT that describes our virtio-mmio devices to a kernel that finds them through ACPI, as
// most distribution kernels can (virtio_mmio matches the hardware ID LNRO0005) while they lack
// CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES. Linux takes such a table from the front of the initrd
// (CONFIG_ACPI_TABLE_UPGRADE; acpi-initrd.ts puts it there). In ASL it reads:
//
//   DefinitionBlock ("", "SSDT", 2, "V86VIO", "VIRTMMIO", 1) {
//     Scope (\_SB) {
//       Device (VM00) {
//         Name (_HID, "LNRO0005")
//         Name (_UID, 0)
//         Name (_CRS, ResourceTemplate () {
//           Memory32Fixed (ReadWrite, 0xD0000000, 0x200)
//           Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 5 }
//         })
//       }
//       ...one Device per window
//     }
//   }
//
// The interrupt is described as what IrqLine makes of it: held high while the device has
// something to report (InterruptStatus non-zero), lowered by the driver's ACK, so level-triggered
// and active-high; exclusive, since v86's inputs cannot be shared (mmio-placement.ts). An
// Extended Interrupt Descriptor is used rather than the ISA IRQ() one because Linux programs the
// IO-APIC input from an extended descriptor as written, while for IRQ() on inputs 0-15 it takes
// the trigger mode of the MADT (edge for IRQ 7 under SeaBIOS) instead.

import { acpiTable, buffer, device, endTag, extendedInterrupt, integer, INTERRUPT_FLAG, memory32Fixed, name, rootName, scope, string } from "./aml.ts";
import { MMIO_WINDOW_SIZE } from "../virtio/constants.ts";
import { placeWindows, type MmioPlacement } from "./mmio-placement.ts";

/** The ACPI hardware ID Linux's virtio_mmio driver matches (its virtio_mmio_acpi_match). */
export const VIRTIO_MMIO_HID = "LNRO0005";

/** The table's OEM ID and OEM table ID: distinct from SeaBIOS's, so Linux adds it instead of replacing one. */
export const VIRTIO_MMIO_SSDT_OEM = { oemId: "V86VIO", oemTableId: "VIRTMMIO" } as const;

/** One device as the SSDT describes it. */
export interface AcpiMmioWindow {
  /** The window's guest-physical address. */
  readonly address: number;
  /** Its size in bytes. */
  readonly size: number;
  /** The IO-APIC input (GSI) its line drives. */
  readonly irq: number;
}

/** The Device's name: VM00, VM01, ... in hex, enough for the 256 windows a block holds. */
export function deviceName(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 0xff) throw new Error(`virtio-mmio SSDT: device index ${index} is not 0-255`);
  return `VM${index.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** The SSDT for these windows, in order (_UID is the index). */
export function virtioMmioSsdt(windows: readonly AcpiMmioWindow[]): Uint8Array {
  const lineFlags = INTERRUPT_FLAG.CONSUMER; // level-triggered, active-high, exclusive, no wake
  const devices = windows.flatMap((w, i) =>
    device(deviceName(i), [
      ...name("_HID", string(VIRTIO_MMIO_HID)),
      ...name("_UID", integer(i)),
      ...name("_CRS", buffer([...memory32Fixed(true, w.address, w.size), ...extendedInterrupt(lineFlags, [w.irq]), ...endTag()])),
    ]),
  );
  return acpiTable(
    { signature: "SSDT", revision: 2, ...VIRTIO_MMIO_SSDT_OEM, oemRevision: 1, creatorId: "VMSI", creatorRevision: 1 },
    scope(rootName("_SB_"), devices),
  );
}

/**
 * The SSDT for a placement (the same one given to attachVirtioMmio): one device per window,
 * MMIO_WINDOW_SIZE bytes each. Call it before creating the V86, whose initrd must carry it
 * (prependAcpiTable).
 */
export function virtioMmioAcpiTable(p: MmioPlacement): Uint8Array {
  return virtioMmioSsdt(placeWindows(p).map(({ address, irq }) => ({ address, size: MMIO_WINDOW_SIZE, irq })));
}

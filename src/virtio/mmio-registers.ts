// The register map of a virtio-mmio window below the config space: which offset is which
// register, which may be read or written, and which belong to which MSI layout. The one place
// that decides whether a guest access names a register at all; the transport dispatches on the
// name it returns. Offsets 0x0c0-0x0f8 mean different registers in the two layouts
// (docs/virtio-mmio-msi-v3.md, "Registers", and docs/virtio-mmio-msi.md): a window has one map.

import { REG, type RegisterName } from "./constants.ts";

/** The 2020 layout's registers (docs/virtio-mmio-msi.md). */
const MSI_2020_REGS = new Set<RegisterName>(["MsiVecNum", "MsiState", "MsiCmd", "MsiVecSel", "MsiAddrLow", "MsiAddrHigh", "MsiData"]);
/** The v3 layout's MSI registers (docs/virtio-mmio-msi-v3.md, "Registers"), reserved words included. */
const MSI_V3_REGS = new Set<RegisterName>([
  "QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl", "ConfigMsiAddrLow", "ConfigMsiAddrHigh",
  "ConfigMsiData", "ConfigMsiControl", "MsiControl", "MsiVectorHint", "MsiReserved0", "MsiReserved1", "MsiReserved2",
  "MsiReserved3",
]);

export const READABLE = new Set<RegisterName>([
  "MagicValue", "Version", "DeviceID", "VendorID", "DeviceFeatures", "QueueNumMax", "QueueReady",
  "InterruptStatus", "Status", "ConfigGeneration", "SHMLenLow", "SHMLenHigh", "SHMBaseLow", "SHMBaseHigh",
  "MsiVecNum", "MsiState", "QueueReset",
  // v3: every register reads; the reserved words read 0.
  ...MSI_V3_REGS,
]);
export const WRITABLE = new Set<RegisterName>([
  "DeviceFeaturesSel", "DriverFeatures", "DriverFeaturesSel", "QueueSel", "QueueNum", "QueueReady",
  "QueueNotify", "InterruptACK", "Status", "QueueDescLow", "QueueDescHigh", "QueueDriverLow",
  "QueueDriverHigh", "QueueDeviceLow", "QueueDeviceHigh", "SHMSel", "MsiCmd", "MsiVecSel", "MsiAddrLow",
  "MsiAddrHigh", "MsiData", "QueueReset", "QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl",
  "ConfigMsiAddrLow", "ConfigMsiAddrHigh", "ConfigMsiData", "ConfigMsiControl", "MsiControl",
]);

/** Register name by word index (offset / 4) below the config space, for each layout. */
function wordMap(skip: ReadonlySet<RegisterName>): (RegisterName | undefined)[] {
  const map: (RegisterName | undefined)[] = new Array(REG.Config / 4).fill(undefined);
  for (const [name, off] of Object.entries(REG) as [RegisterName, number][]) {
    if (off < REG.Config && !skip.has(name)) map[off / 4] = name;
  }
  return map;
}
const WORDS_V3 = wordMap(MSI_2020_REGS);
const WORDS_2020 = wordMap(new Set<RegisterName>([...MSI_V3_REGS, "QueueReset"]));

/** The guest errors counted here (the transport's error counters, counted in place). */
export interface RegisterAccessErrors {
  badWidth: number;
  badOffset: number;
  noMsi: number;
}

/**
 * What the window offers. layout "v3" (also a device without MSI): QueueReset at 0x0c0 with
 * RING_RESET, the v3 registers with `msi`. layout "2020": the vector table's registers with
 * `msi`; QueueReset does not exist and 0x0e0-0x0f8 name nothing.
 */
export interface RegisterSet {
  readonly layout: "v3" | "2020";
  readonly msi: boolean;
  readonly ringReset: boolean;
}

/**
 * The register at `offset` (below the config space) for an access of `width` bytes, or null
 * (counted) when the access is not an aligned 32-bit one or names no register of this window.
 */
export function registerAt(offset: number, width: number, regs: RegisterSet, errors: RegisterAccessErrors): RegisterName | null {
  if (width !== 4 || (offset & 3) !== 0) {
    errors.badWidth++;
    return null;
  }
  const name = (regs.layout === "2020" ? WORDS_2020 : WORDS_V3)[offset >>> 2];
  // QueueReset exists only where RING_RESET is offered; elsewhere 0x0c0 is no register.
  if (name === undefined || (name === "QueueReset" && !regs.ringReset)) {
    errors.badOffset++;
    return null;
  }
  if (!regs.msi && (MSI_2020_REGS.has(name) || MSI_V3_REGS.has(name))) {
    errors.noMsi++;
    return null;
  }
  return name;
}

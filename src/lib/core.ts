// The package's main entry (`import ... from "virtio-mmio-msi-v86"`): attach our virtio-mmio
// devices to a V86 made with the `v86` package, the devices, and the backends that need neither
// the DOM nor Node. Compiled without the DOM library (tsconfig.core.json).

export { attachVirtioMmio } from "../platform/attach.ts";
export type { AttachFault, AttachMsiOptions, AttachOptions, AttachedDevice, VirtioMmioAttachment } from "../platform/attach.ts";
export { DEFAULT_MMIO_BASE, DEFAULT_MMIO_IRQS, virtioMmioCmdline } from "../firmware/mmio-placement.ts";
export type { MmioPlacement } from "../firmware/mmio-placement.ts";
export { checkPlacement, v86Regions, v86TakenIrqs } from "../platform/placement-check.ts";
export type { V86Layout } from "../platform/placement-check.ts";
export { MMIO_WINDOW_SIZE } from "../virtio/constants.ts";
export { VIRTIO_MMIO_HID, virtioMmioAcpiTable, virtioMmioSsdt } from "../firmware/acpi-ssdt.ts";
export type { AcpiMmioWindow } from "../firmware/acpi-ssdt.ts";
export { ACPI_INITRD_DIR, acpiTableCpio, initrdAcpiTables, prependAcpiTable } from "../firmware/acpi-initrd.ts";
export { S_IFDIR, S_IFREG, newcArchive, readNewc } from "../firmware/cpio-newc.ts";
export type { CpioEntry, CpioFile } from "../firmware/cpio-newc.ts";
export { V86_VERSION } from "../platform/v86/internals.ts";
export { MachineLimits, memoryProblem } from "../platform/machine-limits.ts";
export { checkBzImage } from "../platform/bzimage-check.ts";

export { BlockDevice } from "../devices/blk/device.ts";
export type { BlockDeviceOptions } from "../devices/blk/device.ts";
export type { BlockBackend } from "../devices/blk/backend.ts";
export { MemoryBackend } from "../devices/blk/memory-backend.ts";
export type { MemoryBackendOptions } from "../devices/blk/memory-backend.ts";
export { OverlayBackend } from "../devices/blk/overlay-backend.ts";
export type { OverlayBackendOptions } from "../devices/blk/overlay-backend.ts";
export { MemoryBlockStore } from "../devices/blk/memory-store.ts";
export type { BlockStore, OverlayMeta, SavedOverlay, StoredBlock } from "../devices/blk/store.ts";

export { NetDevice } from "../devices/net/device.ts";
export type { NetDeviceOptions } from "../devices/net/device.ts";
export type { NetBackend } from "../devices/net/backend.ts";
export { V86BusBackend } from "../devices/net/v86-bus-backend.ts";
export type { V86Bus, V86BusBackendOptions } from "../devices/net/v86-bus-backend.ts";
export { SwitchPort, VirtualSwitch } from "../devices/net/switch.ts";
export { formatMac, parseMac, randomMac } from "../devices/net/mac.ts";

export type { VirtioDevice } from "../virtio/interfaces.ts";

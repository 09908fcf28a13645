// Numbers from the virtio 1.x specification (virtio-mmio, version 2 register layout, and
// QueueReset of virtio 1.4), from our default MSI layout (docs/virtio-mmio-msi-v3.md) and from
// the 2020 layout kept as an option (docs/virtio-mmio-msi.md). Data only, no behaviour.

/** "virt" in little-endian ASCII: what a driver expects at MagicValue. */
export const MMIO_MAGIC = 0x74726976;
/** The non-legacy register layout. */
export const MMIO_VERSION = 2;
/** VendorID: "V86M" in little-endian ASCII; Linux does not interpret it. */
export const MMIO_VENDOR_ID = 0x4d363856;
/** One device window. */
export const MMIO_WINDOW_SIZE = 0x200;

/** Register offsets inside a device window. */
export const REG = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceID: 0x008,
  VendorID: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptACK: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  // Shared memory regions (virtio 1.2): we have none; Linux 6.12 may probe them.
  SHMSel: 0x0ac,
  SHMLenLow: 0x0b0,
  SHMLenHigh: 0x0b4,
  SHMBaseLow: 0x0b8,
  SHMBaseHigh: 0x0bc,
  // The v3 layout (docs/virtio-mmio-msi-v3.md, "Registers"): QueueReset is virtio 1.4's.
  QueueReset: 0x0c0,
  QueueMsiAddrLow: 0x0c4,
  QueueMsiAddrHigh: 0x0c8,
  QueueMsiData: 0x0cc,
  QueueMsiControl: 0x0d0,
  ConfigMsiAddrLow: 0x0d4,
  ConfigMsiAddrHigh: 0x0d8,
  ConfigMsiData: 0x0dc,
  ConfigMsiControl: 0x0e0,
  MsiControl: 0x0e4,
  MsiVectorHint: 0x0e8,
  MsiReserved0: 0x0ec,
  MsiReserved1: 0x0f0,
  MsiReserved2: 0x0f4,
  MsiReserved3: 0x0f8,
  // The 2020 layout (docs/virtio-mmio-msi.md), only on a device built with it: the same offsets
  // as QueueReset and the first v3 registers, so a window has one layout or the other.
  MsiVecNum: 0x0c0,
  MsiState: 0x0c4,
  MsiCmd: 0x0c8,
  MsiVecSel: 0x0d0,
  MsiAddrLow: 0x0d4,
  MsiAddrHigh: 0x0d8,
  MsiData: 0x0dc,
  ConfigGeneration: 0x0fc,
  Config: 0x100,
} as const;

export type RegisterName = keyof typeof REG;

/** Device IDs (virtio 1.x §5): what DeviceID reads for each kind of device we build. */
export const VIRTIO_DEVICE_ID = {
  NET: 1,
  BLOCK: 2,
} as const;

/** Device status bits (virtio 1.x §2.1). */
export const STATUS = {
  ACKNOWLEDGE: 1,
  DRIVER: 2,
  DRIVER_OK: 4,
  FEATURES_OK: 8,
  DEVICE_NEEDS_RESET: 64,
  FAILED: 128,
} as const;

/** Feature bits as masks (bigint, since the transport bits sit above bit 31). */
export const FEATURE = {
  INDIRECT_DESC: 1n << 28n,
  EVENT_IDX: 1n << 29n,
  VERSION_1: 1n << 32n,
  ACCESS_PLATFORM: 1n << 33n,
  RING_PACKED: 1n << 34n,
  MMIO_NOTIFICATION: 1n << 39n,
  /** virtio 1.2+: QueueReset resets one virtqueue (docs/virtio-mmio-msi-v3.md, "Queue reset"). */
  RING_RESET: 1n << 40n,
  /** The 2020 layout's meaning of bit 40 (docs/virtio-mmio-msi.md), offered only with that layout, never with RING_RESET. */
  MMIO_MSI_2020: 1n << 40n,
  /** provisional, awaiting assignment, docs/virtio-mmio-msi-v3.md */
  MMIO_MSI: 1n << 49n,
} as const;

/** InterruptStatus / InterruptACK bits. */
export const INTERRUPT = {
  USED_BUFFER: 1,
  CONFIG_CHANGE: 2,
} as const;

/** MsiCmd values. */
export const MSI_CMD = {
  ENABLE: 1,
  DISABLE: 2,
  CONFIGURE: 3,
  MASK: 4,
  UNMASK: 5,
  MAP_CONFIG: 6,
  MAP_QUEUE: 7,
} as const;

/** QueueMsiControl / ConfigMsiControl bits (docs/virtio-mmio-msi-v3.md, "Registers"). */
export const MSI_TARGET_CONTROL = {
  ENABLE: 1 << 0,
  MASK: 1 << 1,
  /** Read-only. */
  PENDING: 1 << 2,
} as const;

/** MsiControl bits. */
export const MSI_CONTROL = {
  MSI_ENABLE: 1 << 0,
} as const;

/** MsiVecSel value meaning "no vector" for MAP_CONFIG / MAP_QUEUE. */
export const NO_VECTOR = 0xffffffff;

/** MsiState bits. */
export const MSI_STATE = {
  ENABLED: 1 << 31,
  SHARING: 1 << 30,
} as const;

/** Split-ring descriptor flags (virtio 1.x §2.7.5). */
export const VIRTQ_DESC_F = {
  NEXT: 1,
  WRITE: 2,
  INDIRECT: 4,
} as const;

/** avail.flags / used.flags bits. */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** Split-ring layout: sizes and the alignment the spec requires of each part. */
export const RING = {
  DESC_SIZE: 16,
  DESC_ALIGN: 16,
  AVAIL_ALIGN: 2,
  USED_ALIGN: 4,
  USED_ELEM_SIZE: 8,
  /** The largest queue size the split ring allows. */
  MAX_SIZE: 32768,
} as const;

// The names of a device's negotiated feature bits, for people (the device panel): taken from
// the core's own tables (the transport's FEATURE masks, virtio-net's NET_F and virtio-blk's
// BLK_F bit numbers), so a bit added there is named here without a second copy. Pure, no DOM.

import { BLK_F } from "../devices/blk/constants.ts";
import { NET_F } from "../devices/net/constants.ts";
import { FEATURE, VIRTIO_DEVICE_ID } from "../virtio/constants.ts";

type Named = ReadonlyArray<readonly [bigint, string]>;

const fromBitNumbers = (bits: Readonly<Record<string, number>>): Named => Object.entries(bits).map(([name, n]) => [1n << BigInt(n), name] as const);

/** Device-specific feature names by virtio device ID, lowest bit first. */
const DEVICE_FEATURES: Readonly<Record<number, Named>> = {
  [VIRTIO_DEVICE_ID.NET]: fromBitNumbers(NET_F),
  [VIRTIO_DEVICE_ID.BLOCK]: fromBitNumbers(BLK_F),
};

/**
 * The transport and ring features every device may have (bits 28 and up). Bit 40 has two names
 * (RING_RESET, and MMIO_MSI_2020 in the 2020 layout): which one holds depends on the device's
 * layout (docs/virtio-mmio-msi-v3.md, "The 2020 layout, kept for comparison").
 */
function commonFeatures(layout: "v3" | "2020"): Named {
  const other = layout === "2020" ? "RING_RESET" : "MMIO_MSI_2020";
  return Object.entries(FEATURE).filter(([name]) => name !== other).map(([name, mask]) => [mask, name] as const);
}
const COMMON_FEATURES = { v3: commonFeatures("v3"), "2020": commonFeatures("2020") } as const;

/** The names of the bits set in `features`: the device's own first, then the common ones (bit 40 by `layout`). */
export function featureNames(deviceId: number, features: bigint, layout: "v3" | "2020" = "v3"): string[] {
  return [...(DEVICE_FEATURES[deviceId] ?? []), ...COMMON_FEATURES[layout]].filter(([mask]) => (features & mask) !== 0n).map(([, name]) => name);
}

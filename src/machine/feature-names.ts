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

/** The transport and ring features every device may have (bits 28 and up). */
const COMMON_FEATURES: Named = Object.entries(FEATURE).map(([name, mask]) => [mask, name] as const);

/** The names of the bits set in `features`: the device's own first, then the common ones. */
export function featureNames(deviceId: number, features: bigint): string[] {
  return [...(DEVICE_FEATURES[deviceId] ?? []), ...COMMON_FEATURES].filter(([mask]) => (features & mask) !== 0n).map(([, name]) => name);
}

import { describe, expect, it } from "vitest";
import { BLK_F } from "../devices/blk/constants.ts";
import { NET_F } from "../devices/net/constants.ts";
import { FEATURE, VIRTIO_DEVICE_ID } from "../virtio/constants.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { NetDevice } from "../devices/net/device.ts";
import { VirtualSwitch } from "../devices/net/switch.ts";
import { featureNames } from "./feature-names.ts";

const bit = (n: number): bigint => 1n << BigInt(n);

describe("featureNames", () => {
  it("names a block device's bits, its own before the transport's", () => {
    const f = bit(BLK_F.FLUSH) | bit(BLK_F.SEG_MAX) | FEATURE.VERSION_1 | FEATURE.MMIO_MSI | FEATURE.EVENT_IDX;
    expect(featureNames(VIRTIO_DEVICE_ID.BLOCK, f)).toEqual(["SEG_MAX", "FLUSH", "EVENT_IDX", "VERSION_1", "MMIO_MSI"]);
  });

  it("names bit 40 by the device's layout: RING_RESET beside v3, MMIO_MSI_2020 in the 2020 layout, never both", () => {
    const f = FEATURE.VERSION_1 | FEATURE.RING_RESET | FEATURE.MMIO_MSI;
    expect(featureNames(VIRTIO_DEVICE_ID.BLOCK, f)).toEqual(["VERSION_1", "RING_RESET", "MMIO_MSI"]);
    expect(featureNames(VIRTIO_DEVICE_ID.BLOCK, FEATURE.VERSION_1 | FEATURE.MMIO_MSI_2020, "2020")).toEqual(["VERSION_1", "MMIO_MSI_2020"]);
  });

  it("reads the same bit number by the device's kind (bit 5: MAC on a NIC, RO on a disk)", () => {
    expect(featureNames(VIRTIO_DEVICE_ID.NET, bit(NET_F.MAC))).toEqual(["MAC"]);
    expect(featureNames(VIRTIO_DEVICE_ID.BLOCK, bit(BLK_F.RO))).toEqual(["RO"]);
  });

  it("leaves an unknown device's own bits unnamed and nothing negotiated empty", () => {
    expect(featureNames(99, bit(5) | FEATURE.VERSION_1)).toEqual(["VERSION_1"]);
    expect(featureNames(VIRTIO_DEVICE_ID.NET, 0n)).toEqual([]);
  });

  it("names every bit the real devices offer (their IDs are the core's)", () => {
    const blk = new BlockDevice({ backend: new MemoryBackend(new ArrayBuffer(4096)), name: "blk0" });
    const net = new NetDevice({ backend: new VirtualSwitch().createPort("a") });
    expect(blk.deviceId).toBe(VIRTIO_DEVICE_ID.BLOCK);
    expect(net.deviceId).toBe(VIRTIO_DEVICE_ID.NET);
    for (const dev of [blk, net]) {
      let set = 0;
      for (let f = dev.features; f !== 0n; f >>= 1n) set += Number(f & 1n);
      expect(set).toBeGreaterThan(3);
      expect(featureNames(dev.deviceId, dev.features), dev.name).toHaveLength(set);
    }
  });
});

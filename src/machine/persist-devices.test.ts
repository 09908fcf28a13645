// The one persistence shape (src/virtio/persist.ts) on the devices: virtio-blk and virtio-net
// save, check (changing nothing) and apply back to the same save, and refuse another device's
// state naming the field. (The transport's and the MSI layouts': src/virtio/persist.test.ts.)

import { describe, expect, it } from "vitest";
import { blockPersist } from "../devices/blk/device-state.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { netPersist } from "../devices/net/device-state.ts";
import { NetDevice } from "../devices/net/device.ts";
import { CaptureBackend } from "../testing/net-capture-backend.ts";
import type { Persist } from "../virtio/persist.ts";

function roundTrip<S, C>(from: Persist<S, C>, into: Persist<S, C>): void {
  const text = JSON.stringify(from.save());
  const before = JSON.stringify(into.save());
  const checked = into.check(JSON.parse(text));
  expect(JSON.stringify(into.save())).toBe(before);
  into.apply(checked);
  expect(JSON.stringify(into.save())).toBe(text);
}

describe("the devices follow Persist", () => {
  it("virtio-blk and virtio-net", () => {
    const disk = () => new BlockDevice({ backend: new MemoryBackend(new Uint8Array(64 * 1024)), serial: "p" });
    roundTrip(blockPersist(disk()), blockPersist(disk()));
    expect(() => blockPersist(new BlockDevice({ backend: new MemoryBackend(new Uint8Array(128 * 1024)), serial: "p" })).check(blockPersist(disk()).save()))
      .toThrow(/config: another disk/);
    const nic = () => new NetDevice({ backend: new CaptureBackend(), queueSize: 32 });
    roundTrip(netPersist(nic()), netPersist(nic()));
    expect(() => netPersist(nic()).check({ ...netPersist(nic()).save(), mac: "zz" })).toThrow(/mac: not an address/);
  });
});

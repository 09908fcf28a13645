// virtio-blk over a disk that answers late and out of order: requests stay in flight across
// hostile register writes, resets and republished heads, and complete (or fail) between
// operations. The well-behaved driver waits for each completion as Linux would.

import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { OverlayBackend } from "../devices/blk/overlay-backend.ts";
import { BlkRig } from "./blk-rig.ts";
import { DeferredDisk, drainMicrotasks } from "./deferred-disk.ts";
import type { Prng } from "../testing/prng.ts";
import type { MsiLayout } from "./rig.ts";

export class BlkAsyncRig extends BlkRig {
  readonly disk: DeferredDisk;
  readonly #rng: Prng;

  /**
   * `overlay`: the device sees a copy-on-write overlay whose read-only base is the late disk
   * (a lazily fetched image): copy-ups and reads of the base go async, the overlay's own
   * blocks and zero runs answer at once.
   */
  constructor(name: string, msi: MsiLayout, rng: Prng, overlay = false) {
    const inner = overlay
      ? new MemoryBackend(new Uint8Array(256 * 1024).map((_, i) => (i * 7 + 1) & 0xff), { readOnly: true })
      : MemoryBackend.blank(256 * 1024);
    const disk = new DeferredDisk(inner);
    // A small in-flight budget, so the device stops taking requests and must resume on its own.
    super(name, msi, overlay ? new OverlayBackend(disk) : disk, inner, 6 * 1024);
    this.disk = disk;
    // Only for the order of releases inside a well-behaved step: the fuzzer's own stream.
    this.#rng = rng;
  }

  /**
   * What the step started finishes: calls are released in random order until the device has
   * nothing of this life in flight. I/O from before a reset may linger and land later.
   */
  protected override async settle(): Promise<void> {
    for (let round = 0; round < 256; round++) {
      await drainMicrotasks();
      this.driver.runTasks();
      if (this.device.counters.inFlight === 0) return;
      this.disk.release(this.#rng, 0.3, 0);
    }
  }

  /**
   * I/O from before the reset is not waited for: it finishes during the next episode, in any
   * order with the new requests, as it would on a real disk. The shadow cannot know those
   * sectors, so only what this episode wrote is checked.
   */
  protected override exactShadow = false;
  protected override honestShare = 0.8;

  protected override releaseForSave(rng: Prng): void {
    this.disk.release(rng, 0.5, 0);
  }

  /** Between hostile operations: some I/O finishes, a little of it fails. */
  override afterOp(rng: Prng): Promise<void> | null {
    if (this.disk.waiting === 0) return null;
    this.disk.release(rng, 0.1, 0.1);
    return drainMicrotasks().then(() => void this.driver.runTasks());
  }
}

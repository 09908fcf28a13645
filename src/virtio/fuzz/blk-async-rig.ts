// virtio-blk over a disk that answers late and out of order: requests stay in flight across
// hostile register writes, resets and republished heads, and complete (or fail) between
// operations. The well-behaved driver waits for each completion as Linux would.

import { MemoryBackend } from "../../devices/blk/memory-backend.ts";
import { BlkRig } from "./blk-rig.ts";
import { DeferredDisk, drainMicrotasks } from "./deferred-disk.ts";
import type { Prng } from "./prng.ts";
import type { MsiLayout } from "./rig.ts";

export class BlkAsyncRig extends BlkRig {
  readonly disk: DeferredDisk;
  readonly #rng: Prng;

  constructor(name: string, msi: MsiLayout, rng: Prng) {
    const inner = MemoryBackend.blank(256 * 1024);
    const disk = new DeferredDisk(inner);
    super(name, msi, disk, inner);
    this.disk = disk;
    // Only for the order of releases inside a well-behaved step: the fuzzer's own stream.
    this.#rng = rng;
  }

  /** Everything the step started finishes: release in random order until nothing waits. */
  protected override async settle(): Promise<void> {
    for (let round = 0; round < 64; round++) {
      await drainMicrotasks();
      this.driver.runTasks();
      if (this.disk.waiting === 0 && this.device.counters.inFlight === 0) return;
      this.disk.release(this.#rng, 0.7, 0);
    }
  }

  override async quiesce(): Promise<void> {
    await this.settle();
  }

  /** Between hostile operations: some I/O finishes, a little of it fails. */
  override afterOp(rng: Prng): Promise<void> | null {
    if (this.disk.waiting === 0) return null;
    this.disk.release(rng, 0.5, 0.1);
    return drainMicrotasks().then(() => void this.driver.runTasks());
  }
}

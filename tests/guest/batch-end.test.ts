// Ending v86's batch when a QueueNotify queued device work (src/platform/v86/batch-end.ts) on a real
// guest: the requests complete, the batches really end early, and v86's instruction counter
// stays exact: it never shows the advance outside a batch, and between two timer-hook calls it
// moves by no more than a batch can run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { BATCH_END_STEP } from "../../src/platform/v86/batch-end.ts";
import { sh } from "./shell.ts";

const MiB = 1024 * 1024;
/** v86's batch (LOOP_COUNTER, 100,003) plus one compiled block that may end past it, with room to spare. */
const MOST_PER_BATCH = 1_000_000;

describe.each([
  ["MSI", true],
  ["the line", false],
] as const)("batch end on QueueNotify, %s", (_name, msi) => {
  let guest: BootedGuest;
  let device: BlockDevice;
  const seen = { hooks: 0, pendingOutside: 0, largestStep: 0 };
  beforeAll(async () => {
    device = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(16 * MiB)), name: "blk0", serial: "batch-end" });
    guest = await bootGuest({ devices: [device], msi, memoryMB: 128, ...(msi ? {} : { append: "virtio_mmio.msi=0" }) });
    // Watch from outside our hook: v86 calls this wrapper, which calls ours (which settles).
    const cpu = guest.machine.cpu;
    const ours = cpu.run_hardware_timers;
    let last = cpu.instruction_counter[0]! >>> 0;
    cpu.run_hardware_timers = (acpiEnabled, now) => {
      const t = ours(acpiEnabled, now);
      const counter = cpu.instruction_counter[0]! >>> 0;
      seen.hooks++;
      if (guest.machine.batchEnd?.pending) seen.pendingOutside++;
      seen.largestStep = Math.max(seen.largestStep, (counter - last) >>> 0);
      last = counter;
      return t;
    };
  });
  afterAll(async () => {
    await guest?.shutdown();
  });

  it("completes every request, ending batches early, with the instruction counter exact", async () => {
    const batchEnd = guest.machine.batchEnd!;
    expect(batchEnd).not.toBeNull();
    const before = { requests: batchEnd.requests, completed: device.counters.completed, instr: guest.machine.cpu.instruction_counter[0]! >>> 0 };
    const sum = await sh(guest, "dd if=/dev/urandom of=/tmp/r bs=1M count=2 2>/dev/null; dd if=/tmp/r of=/dev/vda bs=4k oflag=direct 2>/dev/null; " +
      "dd if=/dev/vda bs=4k count=512 iflag=direct 2>/dev/null | sha256sum; sha256sum < /tmp/r");
    const [read, written] = sum.trim().split("\n");
    expect(read).toBe(written);
    const completed = device.counters.completed - before.completed;
    expect(completed).toBeGreaterThanOrEqual(1024);
    // One early end per notify at most, and most notifies got one (the others came while the
    // batch was already ending).
    const requests = batchEnd.requests - before.requests;
    expect(requests).toBeGreaterThan(completed / 2);
    expect(requests).toBeLessThanOrEqual(completed + 100);
    expect(seen.hooks).toBeGreaterThan(requests);
    expect(seen.pendingOutside).toBe(0);
    expect(seen.largestStep).toBeLessThan(MOST_PER_BATCH);
    expect(seen.largestStep).toBeLessThan(BATCH_END_STEP);
    // Guest instructions per 4 KiB O_DIRECT read stay near ten thousand (a leaked advance would
    // add 2^30 to the counter per request).
    const instr0 = guest.machine.cpu.instruction_counter[0]! >>> 0;
    const done0 = device.counters.completed;
    await sh(guest, "dd if=/dev/vda of=/dev/null bs=4k count=1000 iflag=direct 2>/dev/null");
    const perRequest = (((guest.machine.cpu.instruction_counter[0]! >>> 0) - instr0) >>> 0) / (device.counters.completed - done0);
    expect(perRequest).toBeGreaterThan(1_000);
    expect(perRequest).toBeLessThan(100_000);
  });
});

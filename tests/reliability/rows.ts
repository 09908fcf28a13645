// The rows of README's Reliability table: what is shown, by which test, and which recorded
// figures (record.ts) fill its "Last run" column. The words are fixed here; the figures come only
// from the runs.

export interface ReliabilityRow {
  what: string;
  test: string;
  /** Figure ids, in the order their texts are joined. */
  figures: readonly string[];
}

export const ROWS: readonly ReliabilityRow[] = [
  {
    what:
      "A seeded fuzzer drives the transport with the real devices (echo; blk on memory, overlay and a late, out-of-order, failing disk; net on a switch) " +
      "as a driver would and as a hostile one would: random registers and widths, random rings and descriptor tables, loops, indirect in indirect, " +
      "MSI set-ups in both layouts (the v3 per-queue targets and the 2020 vector table) with addresses outside 0xFEE00000-0xFEEFFFFF and vectors below 16, queue resets (RING_RESET) with events held, " +
      "and mode changes between the line and each layout's MSI mode. " +
      "After every operation: nothing thrown, 256 guard bytes on each side of RAM intact, no device write outside a buffer it was given, no interrupt lost or sent while masked; " +
      "after each hostile episode a reset and a verified episode",
    test: "`src/fuzz/transport-fuzz.test.ts` (`FUZZ_OPS`, `FUZZ_SEED`; `npm run fuzz` runs 20M)",
    figures: ["fuzz"],
  },
  {
    what:
      "Failing seeds are saved to `src/fuzz/seeds/` and replayed. Bugs the fuzzer found, since fixed: in virtio-blk, a write from before a reset " +
      "landing over a newer one, and a queue hung when another queue had filled the in-flight budget; in the split queue, a chain reused while its head was still in flight; " +
      "in queue reset, a state saved mid-reset that the restored device refused to start, and a blk reset that resumed a queue held back by the in-flight budget inside the QueueReset write",
    test: "`seed-replay.test.ts`",
    figures: ["fuzz-seeds"],
  },
  {
    what:
      "A hostile guest: `hostile-mmio` in the image writes garbage with `devmem` to every register of both devices, v3 MSI pairs with bad addresses and vectors below 16 " +
      "enabled on real and absent queues, reserved control bits and queue resets, then the driver resets them",
    test: "`tests/guest/hostile.test.ts`",
    figures: ["hostile"],
  },
  {
    what: "Disk under load: 2 writers and 2 readers with sha256 for 40 s, in MSI and in line mode, then `e2fsck -n -f`",
    test: "`tests/guest/disk-stress.test.ts`",
    figures: ["disk-stress-msi", "disk-stress-line"],
  },
  {
    what: "No lost completion: a watchdog fails the test when any worker is silent for 20 s; it catches a vector masked from the host for 8 s, and the held completions arrive on UNMASK",
    test: "same",
    figures: ["disk-stress-held"],
  },
  {
    what: "A reload of the page in the middle of writes, with the disk kept in IndexedDB",
    test: "`e2e/reliability-persist.spec.ts`",
    figures: ["persist-reload"],
  },
  {
    what: "Two tabs keeping one disk",
    test: "`e2e/disk-lock.spec.ts`",
    figures: ["disk-lock"],
  },
  {
    what: "A flood of 100,000 frames into a guest with 16 receive buffers",
    test: "`tests/guest/net-flood.test.ts`",
    figures: ["net-flood"],
  },
  {
    what: "Memory over a long run in Chromium",
    test: "`e2e/reliability-memory.spec.ts`",
    figures: ["memory"],
  },
];

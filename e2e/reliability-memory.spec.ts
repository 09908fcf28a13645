// The page's memory over a long run: thousands of disk requests and network round trips later,
// the JavaScript heap (after a collection) is where it was. Counters, charts and logs are bounded.
import { expect, test, type CDPSession, type Page } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";
import { n, recordFigure } from "../tests/reliability/record.ts";

async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("HeapProfiler.collectGarbage");
  const { usedSize } = await cdp.send("Runtime.getHeapUsage");
  return usedSize;
}

interface Snapshot {
  vms: { devices: { device: { requests?: number } }[] }[];
}

/** Requests completed by every disk of the page, from the debug handle's counters. */
const requests = (page: Page) =>
  page.evaluate(() =>
    (window.v86msi!.snapshot() as Snapshot).vms.flatMap((vm) => vm.devices).reduce((n, d) => n + (d.device.requests ?? 0), 0),
  );

test("thousands of requests later the page's heap is flat", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("./");
  await waitForPrompt(page);
  const cdp = await page.context().newCDPSession(page);
  // A round: 4 x 2048 direct 4 KiB reads (one request each) and 100 pings through the fetch adapter.
  // Each round's commands carry the round's number: run() finds the output after the last
  // prompt row showing the typed command, and an identical command from the round before (CI saw
  // it: its echo not yet drawn) would hand back that round's output before this one finished.
  let rounds = 0;
  const round = async () => {
    const n = ++rounds;
    await run(page, `: round ${n}; for i in 1 2 3 4; do dd if=/dev/vda of=/dev/null bs=4k count=2048 iflag=direct 2>&1; done | tail -n 1`, /records out/, 120_000);
    await run(page, `: round ${n}; ping -c 100 -i 0.01 -q 192.168.86.1 | tail -n 2 | head -n 1`, /100 packets received/, 60_000);
  };
  // Warm up: code paths compiled, chart histories and the terminal's scrollback filled. What
  // still grows after it is v86's JIT: new guest code paths (the network stack's, here) become
  // new WebAssembly modules, up to the size of its module table (seen in heap snapshots: +43
  // WasmNativeModule after 1800 pings; our own objects did not grow).
  for (let i = 0; i < 2; i++) await round();
  await page.waitForTimeout(2_000);
  const heapBefore = await heapAfterGc(cdp);
  const requestsBefore = await requests(page);
  for (let i = 0; i < 4; i++) await round();
  await page.waitForTimeout(2_000);
  const heapAfter = await heapAfterGc(cdp);
  const requestsDone = (await requests(page)) - requestsBefore;
  const grewKiB = (heapAfter - heapBefore) / 1024;
  console.log(`memory: ${requestsDone} disk requests and 400 pings; JS heap ${(heapBefore / 2 ** 20).toFixed(1)} MiB -> ${(heapAfter / 2 ** 20).toFixed(1)} MiB (${grewKiB >= 0 ? "+" : ""}${grewKiB.toFixed(0)} KiB)`);
  expect(requestsDone).toBeGreaterThan(30_000);
  expect(grewKiB).toBeLessThan(1024);
  recordFigure(
    "memory",
    `${n(requestsDone)} disk requests and 400 pings: JS heap ${(heapBefore / 2 ** 20).toFixed(1)} → ${(heapAfter / 2 ** 20).toFixed(1)} MiB after GC (${grewKiB >= 0 ? "+" : ""}${grewKiB.toFixed(0)} KiB)`,
  );
});

import { expect, test } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";

interface Snapshot {
  vms: Array<{
    name: string;
    state: string;
    router: { messages: number; delivered: number };
    tasks: { ran: number; hookCalls: number; hookDrains: number; hostDrains: number };
    faults: string[];
    v86: {
      patches: Array<{ name: string; installed: boolean; problems: string[] }>;
      timerHookCalls: number;
      channelYield: { installed: boolean; live: boolean; refused: string | null; immediate: number; delayed: number } | null;
    };
    devices: Array<{ name: string; mode: string; transport: { writes: Record<string, number> }; device: Record<string, number> }>;
    network: { name: string; counters: { txFrames: number } } | null;
  }>;
}

test("charts=0 turns sampling off, and window.v86msi still gives every counter", async ({ page }) => {
  await page.goto("./?charts=0");
  await waitForPrompt(page);
  await expect(page.getByTestId("devices")).toContainText("charts=0");
  await run(page, "dd if=/dev/vda of=/dev/null bs=64k count=16 2>&1 | tail -1", /records out/);
  // Nothing samples: no chart is drawn and the panel is not rewritten.
  await expect(page.locator("canvas.sparkline")).toHaveCount(0);
  const snap = (await page.evaluate(() => window.v86msi!.snapshot())) as Snapshot;
  expect(snap.vms).toHaveLength(1);
  expect(snap.vms[0]!.state).toBe("running");
  const blk = snap.vms[0]!.devices.find((d) => d.name === "blk0")!;
  expect(blk.mode).toBe("msi");
  expect(blk.transport.writes["QueueNotify"]).toBeGreaterThan(0);
  expect(blk.device["requests"]).toBeGreaterThan(0);
  expect(snap.vms[0]!.router.delivered).toBeGreaterThan(0);
  // Deferred device work drains from v86's timer hook in the browser too, and nothing faulted.
  expect(snap.vms[0]!.tasks.hookCalls).toBeGreaterThan(0);
  expect(snap.vms[0]!.tasks.hookDrains).toBeGreaterThan(0);
  expect(snap.vms[0]!.faults).toEqual([]);
  // Our patches of v86 are live in the page: the channel yield gives v86's main loop its turns
  // (not refused, still installed, used), the timer hook is called, every self-check is clean.
  const v86 = snap.vms[0]!.v86;
  expect(v86.channelYield).toMatchObject({ installed: true, live: true, refused: null });
  expect(v86.channelYield!.immediate).toBeGreaterThan(0);
  expect(v86.timerHookCalls).toBeGreaterThan(0);
  expect(v86.patches.map((p) => p.name)).toEqual(["memory-views", "apic-writes", "batch-end", "timer-hook", "mmio-register", "channel-yield", "serial-input"]);
  for (const p of v86.patches) expect([p.name, p.installed, p.problems]).toEqual([p.name, true, []]);
  // The NIC's backend (v86's fetch adapter on the bus) carried the DHCP exchange at boot.
  expect(snap.vms[0]!.network!.counters.txFrames).toBeGreaterThan(0);
  expect(await page.evaluate(() => window.v86msi!.machine === window.v86msi!.vms[0]!.machine)).toBe(true);
  // The panels' sampling cost meter: nothing sampled, nothing booked.
  expect(await page.evaluate(() => window.v86msi!.panelCost)).toEqual({ renders: 0, scriptMs: 0 });
});

test("with charts on, the panel cost meter books every sampling render", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  const cost = () => page.evaluate(() => window.v86msi!.panelCost);
  const a = await cost();
  await page.waitForTimeout(2_000);
  const b = await cost();
  // Four renders a second; each takes some script time, and far less than its 250 ms slot.
  expect(b.renders - a.renders).toBeGreaterThanOrEqual(4);
  expect(b.scriptMs).toBeGreaterThan(a.scriptMs);
  expect((b.scriptMs - a.scriptMs) / (b.renders - a.renders)).toBeLessThan(50);
});

import { expect, test } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";
import { shot } from "./screenshots.ts";
import { restartsInPlace } from "./vm.ts";

test("the device panel shows per-queue MSIs and MMIO by register; MSI off shows the line and no MSI rows", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  const blk = page.locator('[data-device="blk0"]');
  const register = (name: string) => blk.locator(`tr[data-register="${name}"] td`).nth(2);
  await expect(blk.getByTestId("mode")).toHaveText("MSI");
  await run(page, "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=64k 2>&1 | tail -1", /records out/);
  // The driver took the per-queue mode (its default where the device offers it): queue 0's
  // target has sent messages; the line never rose, nothing read InterruptStatus.
  await expect.poll(async () => Number(await blk.locator('tr[data-target="q0"] td').nth(3).textContent())).toBeGreaterThan(10);
  await expect(blk.getByTestId("line-raised")).toHaveText("0");
  await expect.poll(async () => Number(await register("write:QueueNotify").textContent())).toBeGreaterThan(10);
  await expect(blk.locator('tr[data-register="read:InterruptStatus"]')).toHaveCount(0);
  await expect(blk.locator('tr[data-register="write:InterruptACK"]')).toHaveCount(0);
  await expect(page.locator('[data-device="net0"]').getByTestId("mode")).toHaveText("MSI");
  const lines = await run(page, "grep -c ' virtio-mmio-virtio-mmio' /proc/interrupts", /^\d+$/);
  expect(Number(lines.find((l) => /^\d+$/.test(l)))).toBe(5); // blk: config + req.0; net: config + rx + tx (the polled control queue gets none)
  await shot(page, "msi");

  await page.getByRole("button", { name: "Restart with MSI off" }).click();
  await expect(page).toHaveURL(/msi=0/);
  await waitForPrompt(page);
  await expect(blk.getByTestId("mode")).toHaveText("line");
  await run(page, "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=64k 2>&1 | tail -1", /records out/);
  await expect.poll(async () => Number(await blk.getByTestId("line-raised").textContent())).toBeGreaterThan(10);
  // Each line interrupt costs the guest an InterruptStatus read and an InterruptACK write.
  await expect.poll(async () => Number(await register("read:InterruptStatus").textContent())).toBeGreaterThan(10);
  await expect.poll(async () => Number(await register("write:InterruptACK").textContent())).toBeGreaterThan(10);
  await expect(page.locator("tr[data-vector]")).toHaveCount(0);
  await expect(blk.getByTestId("no-msi")).toBeVisible();
  await expect(page.getByTestId("router")).toContainText("messages 0,");
  await shot(page, "line");
  await page.getByRole("button", { name: "Restart with MSI on" }).click();
  await expect(page).not.toHaveURL(/msi=0/);
  await waitForPrompt(page);
  await expect(blk.getByTestId("mode")).toHaveText("MSI");
});

test("link down from the page shows NO-CARRIER in the guest", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await run(page, "ip link set eth0 up; sleep 1; ip link show eth0 | head -1", /eth0:.*UP/);
  await page.getByRole("button", { name: "Link down" }).click();
  const lines = await run(page, "sleep 1; ip link show eth0 | head -1", /NO-CARRIER/);
  expect(lines.some((l) => l.includes("NO-CARRIER"))).toBe(true);
  await page.getByRole("button", { name: "Link up" }).click();
  await run(page, "sleep 1; cat /sys/class/net/eth0/carrier", /^1$/);
});

test("Keep disk across reloads: what the guest wrote survives a reload; Reset disk drops it", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await page.getByLabel("Keep disk across reloads").check();
  await expect(page).toHaveURL(/persist=1/);
  await waitForPrompt(page);
  await expect(page.getByLabel("Keep disk across reloads")).toBeChecked();
  const token = `persisted-${Date.now()}`;
  const saves = async () => Number(await page.getByTestId("disk-saves").textContent());
  await expect(page.getByTestId("disk-unsaved")).toHaveText("0", { timeout: 10_000 }); // boot's writes
  const before = await saves();
  await run(page, `echo ${token} > /mnt/p.txt && sync && echo synced`, /^synced$/);
  // The page says when what the guest wrote has been saved: a new save, nothing left unsaved.
  await expect.poll(saves, { timeout: 10_000 }).toBeGreaterThan(before);
  await expect(page.getByTestId("disk-unsaved")).toHaveText("0", { timeout: 10_000 });
  await page.reload();
  await waitForPrompt(page);
  const lines = await run(page, "cat /mnt/p.txt", new RegExp(`^${token}$`));
  expect(lines).toContain(token);
  // Reset drops it again: the VM restarts in place from the original image.
  page.once("dialog", (d) => void d.accept());
  await restartsInPlace(page, () => page.getByRole("button", { name: "Reset disk" }).click());
  await run(page, "cat /mnt/p.txt 2>&1", /No such file/);
  // ... and the next reload does not bring it back; unticking the box turns persistence off.
  await page.reload();
  await waitForPrompt(page);
  await run(page, "cat /mnt/p.txt 2>&1", /No such file/);
  await page.getByLabel("Keep disk across reloads").uncheck();
  await expect(page).not.toHaveURL(/persist=1/);
  await waitForPrompt(page);
  await expect(page.getByTestId("devices")).toContainText("kept in memory only");
});

test("a lazily fetched disk is read in chunks with HTTP Range requests, not downloaded whole", async ({ page }) => {
  const ranges: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith("guest/disk.img")) ranges.push(r.headers()["range"] ?? "none");
  });
  await page.goto("./?lazy=1");
  await waitForPrompt(page);
  await run(page, "head -c 40 /mnt/README.txt; echo", /\S/);
  await run(page, "echo lazy-write > /mnt/w.txt && cat /mnt/w.txt", /^lazy-write$/);
  expect(ranges.length).toBeGreaterThan(0);
  expect(ranges.every((r) => /^bytes=\d+-\d+$/.test(r))).toBe(true);
  const fetched = ranges.reduce((n, r) => {
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(r)!;
    return n + Number(b) - Number(a) + 1;
  }, 0);
  console.log(`lazy disk: ${ranges.length} range requests, ${(fetched / 1048576).toFixed(2)} MiB of 8 MiB`);
  expect(fetched).toBeLessThan(8 * 1048576);
});

test("Download disk gives an image holding what the guest wrote", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  const token = `downloaded-${Date.now()}`;
  await run(page, `echo ${token} > /mnt/d.txt && sync && echo synced`, /^synced$/);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download disk" }).click(),
  ]);
  const path = await download.path();
  const { readFileSync } = await import("node:fs");
  const bytes = readFileSync(path);
  expect(bytes.length).toBe(8 * 1048576);
  expect(bytes.includes(Buffer.from(token))).toBe(true);
});

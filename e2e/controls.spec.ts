import { readFileSync } from "node:fs";
import { expect, test } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, terminalLines, waitForPrompt } from "./terminal.ts";
import { restartsInPlace } from "./vm.ts";

const uptime = async (page: import("@playwright/test").Page) => Number(await page.getByTestId("uptime").getAttribute("data-seconds"));

test("Pause stops the guest (no output, uptime stands still) until Resume", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  // The guest prints a line every half second; while paused none may appear.
  await run(page, "while :; do echo tick $(cut -d' ' -f1 /proc/uptime); sleep 0.5; done &", /^tick /);
  const ticks = async () => (await terminalLines(page)).filter((l) => l.startsWith("tick ")).length;
  await expect.poll(ticks).toBeGreaterThan(2);
  await page.getByRole("button", { name: "Pause" }).click();
  await expect(page.getByTestId("state")).toHaveText("paused");
  await expect(page.getByRole("button", { name: "Resume" })).toHaveAttribute("aria-pressed", "true");
  await page.waitForTimeout(500); // what the guest printed just before the pause lands
  const instructions = () => page.evaluate(() => window.v86msi!.machine!.instructions);
  const renders = () => page.evaluate(() => window.v86msi!.panelCost.renders);
  const [ticksPaused, upPaused, ranPaused, rendersPaused] = [await ticks(), await uptime(page), await instructions(), await renders()];
  // The page goes on (its panels render four times a second) while the guest may not run: wait
  // for the page's own progress, 12 renders, instead of a fixed time, then nothing of the guest moved.
  await expect.poll(renders, { timeout: 60_000 }).toBeGreaterThanOrEqual(rendersPaused + 12);
  expect(await instructions()).toBe(ranPaused);
  expect(await ticks()).toBe(ticksPaused);
  expect(await uptime(page)).toBe(upPaused);
  await shot(page, "paused");
  await page.getByRole("button", { name: "Resume" }).click();
  await expect(page.getByTestId("state")).toHaveText("running");
  await expect.poll(ticks).toBeGreaterThan(ticksPaused + 2);
  await expect.poll(() => uptime(page)).toBeGreaterThan(upPaused);
});

test("Upload disk image: the file becomes the VM's disk, with the guest's writes over it", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  const token = `uploaded-${Date.now()}`;
  // 1 MiB and 100 bytes: the page pads the last sector, so the guest sees 2049 sectors.
  const image = Buffer.alloc(1048576 + 100);
  image.write(token, 0);
  await restartsInPlace(page, () => page.getByLabel("Upload disk image").setInputFiles({ name: "mine.img", mimeType: "application/octet-stream", buffer: image }));
  await run(page, "cat /sys/block/vda/size", /^2049$/);
  await run(page, `head -c ${token.length} /dev/vda; echo`, new RegExp(`^${token}$`));
  await expect(page.getByTestId("devices")).toContainText("disk (mine.img)");
  await run(page, "printf guest-wrote-this > /tmp/x && dd if=/tmp/x of=/dev/vda bs=512 seek=10 conv=sync oflag=direct 2>&1 | tail -1", /records out/);
  await shot(page, "uploaded-disk");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download disk" }).click()]);
  const bytes = readFileSync(await download.path());
  expect(bytes.length).toBe(2049 * 512);
  expect(bytes.subarray(0, token.length).toString()).toBe(token);
  expect(bytes.subarray(5120, 5120 + 16).toString()).toBe("guest-wrote-this");
  // Reset disk goes back to the uploaded image, not to the page's default one.
  page.once("dialog", (d) => void d.accept());
  await restartsInPlace(page, () => page.getByRole("button", { name: "Reset disk" }).click());
  await run(page, "dd if=/dev/vda bs=512 skip=10 count=1 2>/dev/null | head -c 16 | od -c | head -1", /^0000000\s+\\0/);
  await run(page, `head -c ${token.length} /dev/vda; echo`, new RegExp(`^${token}$`));
});

test("the guest powering off shows the error panel, and Restart this VM boots it again", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await page.locator(".xterm-helper-textarea").focus();
  await page.keyboard.type("poweroff -f\n");
  await expect(page.getByTestId("error")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("error-title")).toHaveText("The guest powered off");
  await expect(page.getByTestId("error-help")).toContainText("Restart this VM");
  await expect(page.getByTestId("state")).toHaveText("error");
  // The panel's first action has the focus, so Enter restarts.
  await expect(page.getByRole("button", { name: "Restart this VM" })).toBeFocused();
  await shot(page, "halted");
  await restartsInPlace(page, () => page.keyboard.press("Enter"));
  await expect(page.getByTestId("error")).toBeHidden();
  await run(page, "echo back", /^back$/);
});

test("an emulator that stops by itself shows the error panel", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  // As if v86 had stopped on its own: nobody pressed Pause.
  await page.evaluate(() => (window.v86msi!.machine!.emulator as unknown as { stop(): void }).stop());
  await expect(page.getByTestId("error-title")).toHaveText("The emulator stopped");
  await expect(page.getByTestId("state")).toHaveText("error");
  await restartsInPlace(page, () => page.getByRole("button", { name: "Restart this VM" }).click());
  await run(page, "echo again", /^again$/);
});

test("charts receive data: interrupts, MMIO, disk MB/s and IOPS, network packets/s", async ({ page }) => {
  await page.goto("./");
  await waitForPrompt(page);
  await run(page, "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=16k 2>&1 | tail -1", /records out/);
  await run(page, "ping -c 3 192.168.86.1 | tail -2", /packets transmitted/);
  const peaks = async (device: string, chart: string) =>
    ((await page.locator(`[data-device="${device}"] canvas[data-chart="${chart}"]`).getAttribute("data-peaks")) ?? "").split(",").map(Number);
  await expect.poll(async () => (await peaks("blk0", "disk MB/s"))[0]).toBeGreaterThan(0);
  await expect.poll(async () => (await peaks("blk0", "disk IOPS"))[0]).toBeGreaterThan(10);
  await expect.poll(async () => (await peaks("blk0", "interrupts/s"))[0]).toBeGreaterThan(10);
  await expect.poll(async () => (await peaks("blk0", "MMIO accesses/s"))[0]).toBeGreaterThan(10);
  await expect.poll(async () => Math.min(...(await peaks("net0", "network packets/s")))).toBeGreaterThan(0);
  // Still sampling: the sample count goes on rising.
  const samples = async () => Number(await page.locator('[data-device="blk0"] canvas[data-chart="disk IOPS"]').getAttribute("data-samples"));
  const before = await samples();
  await expect.poll(samples).toBeGreaterThan(before + 4);
  await shot(page, "charts");
});

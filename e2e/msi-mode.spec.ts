// The page's Interrupts choice: each mode restarts the VM with it, and the guest
// (/proc/interrupts), the status line, the device panel and window.v86msi all agree on the
// mode the driver took.
import { expect, test, type Page } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";

type Choice = "queue" | "table" | "line";

const LABEL: Record<Choice, string> = {
  queue: "per-queue MSI (v3 layout)",
  table: "vector-table MSI (2020 layout)",
  line: "line (no MSI)",
};

/** Picks a mode in the settings bar and restarts with it; waits for the new guest's prompt. */
async function choose(page: Page, choice: Choice): Promise<void> {
  await page.getByLabel("Interrupts", { exact: true }).selectOption({ label: LABEL[choice] });
  await page.getByRole("button", { name: "Restart in this mode" }).click();
  await expect(page).toHaveURL(choice === "line" ? /msi=0/ : choice === "queue" ? /\/demo\/$/ : /msilayout=2020/);
  await waitForPrompt(page);
  await expect(page.getByLabel("Interrupts", { exact: true })).toHaveValue(choice);
  // Nothing to restart into until the choice changes.
  await expect(page.getByRole("button", { name: "Restart in this mode" })).toBeDisabled();
}

/** A number the guest printed alone on a row. */
async function count(page: Page, command: string): Promise<number> {
  const lines = await run(page, command, /^\d+$/);
  return Number(lines.find((l) => /^\d+$/.test(l)));
}

/** Reads the whole disk again, so the block device's queue interrupts many times. */
async function readDisk(page: Page): Promise<void> {
  await run(page, "echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda of=/dev/null bs=64k 2>&1 | tail -1", /records out/);
}

/** Each device's mode in use, from window.v86msi. */
async function snapshotModes(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const snap = window.v86msi!.snapshot() as { vms: Array<{ devices: Array<{ name: string; msiMode: string }> }> };
    return Object.fromEntries(snap.vms[0]!.devices.map((d) => [d.name, d.msiMode]));
  });
}

const blk = (page: Page) => page.locator('[data-device="blk0"]');
const net = (page: Page) => page.locator('[data-device="net0"]');
const irqmode = (page: Page) => page.getByTestId("irqmode");

test("vector-table MSI and the line, chosen from the page", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("./");
  await waitForPrompt(page);
  await expect(page.getByLabel("Interrupts", { exact: true })).toHaveValue("queue");
  await expect(irqmode(page)).toHaveText("per-queue MSI"); // the v3 layout, the default
  // On a phone the choice is under "Settings", with the others.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByText("Settings", { exact: true }).click();
  await expect(page.getByLabel("Interrupts", { exact: true })).toBeVisible();
  await shot(page, "msi-mode-settings-narrow");
  await page.setViewportSize({ width: 1280, height: 800 });

  await choose(page, "table");
  await run(page, "tr ' ' '\\n' </proc/cmdline | grep msi_layout", /^virtio_mmio\.msi_layout=2020$/);
  await expect(irqmode(page)).toHaveText("vector-table MSI");
  await expect(irqmode(page)).toHaveAttribute("data-mode", "table");
  await readDisk(page);
  // Every event its own MSI from the 2020 table's irq chip (config and req.0; config, input,
  // output: the polled control queue gets none), none from the v3 chip or the IO-APIC.
  expect(await count(page, "grep -c ' virtio-mmio-2020-' /proc/interrupts")).toBe(5);
  expect(await count(page, "grep -c ' virtio-mmio-virtio-mmio' /proc/interrupts")).toBe(0);
  expect(await count(page, "grep IO-APIC /proc/interrupts | grep -c virtio")).toBe(0);
  await expect(blk(page).getByTestId("msi-mode")).toHaveText("(vector table)");
  await expect.poll(async () => Number(await blk(page).locator('tr[data-vector="1"] td').nth(4).textContent())).toBeGreaterThan(10);
  await expect(blk(page).locator('tr[data-vector="1"] td').nth(1)).toHaveText("req.0");
  await expect(net(page).locator('tr[data-vector="2"] td').nth(1)).toHaveText("output.0");
  await expect(page.locator("tr[data-target]")).toHaveCount(0);
  expect(await snapshotModes(page)).toEqual({ blk0: "table", net0: "table" });
  await shot(page, "msi-mode-table");

  await choose(page, "line");
  await expect(irqmode(page)).toHaveText("line interrupt");
  await expect(irqmode(page)).toHaveAttribute("data-mode", "line");
  await readDisk(page);
  // One IO-APIC line per device, no MSI.
  expect(await count(page, "grep IO-APIC /proc/interrupts | grep -c virtio")).toBe(2);
  expect(await count(page, "grep -c ' virtio-mmio-' /proc/interrupts")).toBe(0); // neither MSI chip
  await expect(blk(page).getByTestId("mode")).toHaveText("line");
  await expect(blk(page).getByTestId("msi-mode")).toHaveCount(0);
  await expect(page.locator("tr[data-vector], tr[data-target]")).toHaveCount(0);
  await expect(blk(page).getByTestId("no-msi")).toBeVisible();
  await expect.poll(async () => Number(await blk(page).getByTestId("line-raised").textContent())).toBeGreaterThan(10);
  expect(await snapshotModes(page)).toEqual({ blk0: "line", net0: "line" });
  await shot(page, "msi-mode-line");
});

test("per-queue MSI (the v3 layout), chosen from the page after the table; the panel shows each target", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("./?msilayout=2020");
  await waitForPrompt(page);

  await choose(page, "queue");
  expect(await count(page, "tr ' ' '\\n' </proc/cmdline | grep -c msi_layout")).toBe(0);
  await expect(irqmode(page)).toHaveText("per-queue MSI");
  await expect(irqmode(page)).toHaveAttribute("data-mode", "queue");
  await readDisk(page);
  // The guest: an interrupt of its own per queue with a callback and per config, from the v3
  // chip and named as in the table mode; none from the table or the IO-APIC. The features
  // the driver took: VIRTIO_F_MMIO_MSI (49) and RING_RESET (40).
  expect(await count(page, "grep -c ' virtio-mmio-virtio-mmio' /proc/interrupts")).toBe(5);
  expect(await count(page, "cut -c41,50 /sys/bus/virtio/devices/virtio0/features")).toBe(11);
  expect(await count(page, "grep -c -e 'virtio0-req.0$' -e 'virtio1-input.0$' -e 'virtio1-output.0$' -e 'virtio[01]-config$' /proc/interrupts")).toBe(5);
  expect(await count(page, "grep -c ' virtio-mmio-2020-' /proc/interrupts")).toBe(0);
  expect(await count(page, "grep IO-APIC /proc/interrupts | grep -c virtio")).toBe(0);
  // The panel: targets (config, then each queue), no vector table.
  await expect(blk(page).getByTestId("msi-mode")).toHaveText("(per-queue)");
  await expect(page.locator("tr[data-vector]")).toHaveCount(0);
  await expect(blk(page).locator("tr[data-target]")).toHaveCount(2);
  await expect(net(page).locator("tr[data-target]")).toHaveCount(4);
  const cells = (device: ReturnType<typeof blk>, target: string) => device.locator(`tr[data-target="${target}"] td`);
  await expect(cells(blk(page), "config").first()).toHaveText("config");
  await expect(cells(blk(page), "q0").first()).toHaveText("req.0");
  await expect(cells(blk(page), "q0").nth(2)).toHaveText("on");
  await expect.poll(async () => Number(await cells(blk(page), "q0").nth(3).textContent())).toBeGreaterThan(10);
  await expect(cells(net(page), "q1").first()).toHaveText("output.0");
  await expect(blk(page).getByTestId("pq-summary")).toContainText("per-queue MSI: 2 targets");
  await expect(blk(page).getByTestId("line-raised")).toHaveText("0");
  expect(await snapshotModes(page)).toEqual({ blk0: "queue", net0: "queue" });
  await shot(page, "msi-mode-queue");
  // On a phone the settings fold away and the panel stacks under the console.
  await page.setViewportSize({ width: 390, height: 844 });
  await blk(page).locator("tr[data-target]").first().scrollIntoViewIfNeeded();
  await shot(page, "msi-mode-queue-narrow");
  await net(page).locator("tr[data-target]").first().scrollIntoViewIfNeeded();
  await shot(page, "msi-mode-queue-narrow-net");
  await page.setViewportSize({ width: 1280, height: 800 });
});

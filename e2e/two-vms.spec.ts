import { expect, test } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, vm, waitForPrompt } from "./terminal.ts";
import { restartsInPlace } from "./vm.ts";

test("Add a second VM: two VMs side by side on one switch, VM 1 pings VM 2", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("./");
  await waitForPrompt(page);
  await page.getByRole("button", { name: "Add a second VM" }).click();
  await expect(page).toHaveURL(/net=switch/);
  await expect(page.locator("section.vm")).toHaveCount(2);
  await waitForPrompt(page, 120_000, vm(1));
  await waitForPrompt(page, 120_000, vm(2));
  // Each VM has its own terminal, device panel and address (given on its kernel command line).
  for (const n of [1, 2]) {
    await expect(page.locator(vm(n)).getByTestId("ip")).toHaveText(`IP 192.168.87.${n}/24`);
    await expect(page.locator(vm(n)).locator('[data-device="net0"]')).toBeVisible();
    // One word per row: the whole command line wraps at the terminal's width.
    await run(page, "tr ' ' '\\n' </proc/cmdline | grep guest.ip", new RegExp(`^guest\\.ip=192\\.168\\.87\\.${n}/24$`), 30_000, vm(n));
  }
  await run(page, "ip -4 addr show eth0", /inet 192\.168\.87\.2\/24/, 30_000, vm(2));
  const lines = await run(page, "ping -c 3 -W 5 192.168.87.2", /packets transmitted/, 60_000, vm(1));
  expect(lines.find((l) => /packets transmitted/.test(l))).toMatch(/3 packets received|3 received/);
  // The switch carried it: frames forwarded between the two ports, both NICs counted packets.
  const snap = (await page.evaluate(() => window.v86msi!.snapshot())) as {
    switch: { forwarded: number; learned: number };
    vms: Array<{ devices: Array<{ name: string; device: Record<string, number> }> }>;
  };
  expect(snap.switch.forwarded).toBeGreaterThanOrEqual(6);
  expect(snap.switch.learned).toBe(2);
  for (const v of snap.vms) expect(v.devices.find((d) => d.name === "net0")!.device["rxPackets"]).toBeGreaterThanOrEqual(3);
  await expect
    .poll(async () => Number((await page.locator(vm(2)).locator('canvas[data-chart="network packets/s"]').getAttribute("data-peaks"))?.split(",")[0]))
    .toBeGreaterThan(0);
  await shot(page, "two-vms");

  // Link down on VM 2 shows in VM 2's guest, and VM 1's pings then go unanswered.
  await page.locator(vm(2)).getByRole("button", { name: "Link down" }).click();
  await run(page, "sleep 1; cat /sys/class/net/eth0/carrier", /^0$/, 30_000, vm(2));
  await run(page, "ping -c 1 -W 2 192.168.87.2", /0 packets received|100% packet loss/, 30_000, vm(1));
  await page.locator(vm(2)).getByRole("button", { name: "Link up" }).click();
  await run(page, "sleep 1; cat /sys/class/net/eth0/carrier", /^1$/, 30_000, vm(2));

  // VM 2 restarted in place (Reset disk) is the same host to VM 1: same address, same MAC, so
  // VM 1's ARP entry still holds and the first ping after the restart is answered.
  const before = await run(page, "cat /sys/class/net/eth0/address", /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 30_000, vm(2));
  page.once("dialog", (d) => void d.accept());
  await restartsInPlace(page, () => page.locator(vm(2)).getByRole("button", { name: "Reset disk" }).click(), 2);
  const after = await run(page, "cat /sys/class/net/eth0/address", /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 30_000, vm(2));
  const addr = (lines: string[]) => lines.find((l) => /^([0-9a-f]{2}:){5}/.test(l));
  expect(addr(after)).toBe(addr(before));
  await run(page, "ping -c 1 -W 5 192.168.87.2 | grep received", /1 packets received/, 30_000, vm(1));

  // A narrow screen stacks them: VM 2 below VM 1.
  await page.setViewportSize({ width: 390, height: 844 });
  // Both boxes are read in one frame, and again until the terminals' refit after the resize has
  // settled: two reads apart can straddle a reflow (seen in CI: VM 1 read mid-reflow, 59 px taller).
  const gap = () =>
    page.evaluate(() => {
      const [a, b] = [...document.querySelectorAll("section.vm")].map((e) => e.getBoundingClientRect());
      return b!.top - a!.bottom;
    });
  await expect.poll(gap, { timeout: 10_000 }).toBeGreaterThanOrEqual(-1);
  await shot(page, "two-vms-narrow", true);
  // There the settings fold away under "Settings".
  await expect(page.getByRole("button", { name: "Back to one VM" })).toBeHidden();
  await page.locator("#settings > summary").click();
  await page.getByRole("button", { name: "Back to one VM" }).click();
  await expect(page).not.toHaveURL(/net=switch/);
  await expect(page.locator("section.vm")).toHaveCount(1);
});

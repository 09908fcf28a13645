// Save and restore in the page: a VM saved to a file (Save state), the page reloaded, and a VM
// started from that file (Restore state, or the state= URL parameter) with no boot: the file the
// guest wrote is there with its sha256, commands run, and its disk keeps interrupting on the same
// per-queue MSI, whose count goes on from where it was. A damaged file is refused with the
// running VM untouched; a state our devices refuse leaves no half-restored VM.
// (A damaged file: cut, or one byte changed in the uncompressed container, caught by its checksum.)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { encodeSavedMachine } from "../src/machine/state-file.ts";
import { isCompressedStateFile, unpackSavedMachine } from "../src/machine/state-file-gzip.ts";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";

/** The headless `guest` command (README), run from the repository. */
const guestCommand = (...args: string[]) =>
  spawnSync("npx", ["tsx", "src/node/cli.ts", ...args], { encoding: "utf8", timeout: 110_000 });

/** The disk's request queue's row of /proc/interrupts: its IRQ number and its count. */
let reads = 0;
async function diskIrq(page: Page): Promise<{ irq: number; count: number }> {
  // Each command differs (run() finds its output below the last row that shows it).
  const rows = await run(page, `grep 'virtio0-req.0' /proc/interrupts # ${++reads}`, /virtio0-req\.0$/);
  const m = /^\s*(\d+):\s+(\d+)\s.*virtio0-req\.0$/.exec(rows.find((l) => l.endsWith("virtio0-req.0"))!);
  expect(m, "a row of its own for the disk's queue (per-queue MSI)").not.toBeNull();
  return { irq: Number(m![1]), count: Number(m![2]) };
}

/** Writes 512 KiB of random data to the disk, returns its sha256. */
async function writeKnownFile(page: Page): Promise<string> {
  const lines = await run(page, "dd if=/dev/urandom of=/mnt/kept bs=64k count=8 2>/dev/null; sync; sha256sum /mnt/kept", /^[0-9a-f]{64}\s+\/mnt\/kept$/);
  return lines.find((l) => /^[0-9a-f]{64}\s/.test(l))!.split(/\s+/)[0]!;
}

/** Clicks Save state and returns the downloaded file's bytes. */
async function saveState(page: Page): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Save state" }).click()]);
  expect(download.suggestedFilename()).toBe("vm.state");
  return readFileSync((await download.path())!);
}

/**
 * The restored shell answers the first command typed: once, no retry (every key must arrive;
 * docs/save-restore.md, "Typing at once after a restore").
 */
async function shellAnswers(page: Page): Promise<void> {
  await run(page, "echo answer-0", /^answer-0$/, 15_000);
}

/** The checks after a restore: the file, a command, the same MSI counting on. */
async function checkRestored(page: Page, sum: string, before: { irq: number; count: number }): Promise<void> {
  await waitForPrompt(page);
  await expect(page.getByTestId("state")).toHaveText("running");
  await shellAnswers(page);
  await run(page, "sha256sum /mnt/kept", new RegExp(`^${sum}\\s+/mnt/kept$`));
  await run(page, "echo restored-$((6*7))", /^restored-42$/);
  const after = await diskIrq(page);
  expect(after.irq).toBe(before.irq);
  expect(after.count).toBeGreaterThanOrEqual(before.count);
  // Disk I/O after the restore still interrupts on it.
  await run(page, "echo 3 > /proc/sys/vm/drop_caches; cat /mnt/kept > /dev/null; echo read-back", /^read-back$/);
  expect((await diskIrq(page)).count).toBeGreaterThan(after.count);
}

test("Save state, reload, Restore state: the guest goes on where it was, on the same MSI", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("./");
  await waitForPrompt(page);
  await expect(page.getByTestId("state")).toHaveText("running");
  const sum = await writeKnownFile(page);
  const before = await diskIrq(page);
  const file = await saveState(page);
  expect(isCompressedStateFile(file), "the file is compressed").toBe(true);
  const saved = await unpackSavedMachine(file);
  const container = Buffer.from(encodeSavedMachine(saved));
  expect(container.subarray(0, 8).toString()).toBe("V86MSIS1");
  console.log(`state file: ${(file.length / 2 ** 20).toFixed(1)} MiB compressed, ${(container.length / 2 ** 20).toFixed(1)} MiB uncompressed`);
  await expect(page.getByTestId("state-message")).toContainText("Saved the VM's state");
  // The VM runs on after a save.
  await run(page, "echo still-$((2+3))", /^still-5$/);

  await page.reload();
  await waitForPrompt(page);
  // A damaged (truncated) file is refused, saying why, and the VM it would have replaced runs on.
  await page.getByLabel("Restore state").setInputFiles({ name: "cut.state", mimeType: "application/octet-stream", buffer: file.subarray(0, file.length - 100) });
  await expect(page.getByTestId("state-message")).toContainText("cut.state cannot be restored: not a usable saved machine: its compressed data is cut short or damaged");
  await expect(page.getByTestId("state-message")).toContainText("The VM was not changed");
  await run(page, "echo alive", /^alive$/);

  await page.getByLabel("Restore state").setInputFiles({ name: "vm.state", mimeType: "application/octet-stream", buffer: file });
  await checkRestored(page, sum, before);
  await shot(page, "restored-from-state");

  // A byte edited in v86's part of the uncompressed container (a file of the older, uncompressed
  // format, which the page still reads): the checksum refuses it, the restored VM runs on.
  const damaged = Buffer.from(container);
  damaged[damaged.length - 5_000_000]! ^= 1;
  await page.getByLabel("Restore state").setInputFiles({ name: "damaged.state", mimeType: "application/octet-stream", buffer: damaged });
  await expect(page.getByTestId("state-message")).toContainText("damaged.state cannot be restored: not a usable saved machine: its checksum does not match");
  await run(page, "echo still-restored", /^still-restored$/);

  // A well-formed file whose disk state our devices refuse (made another kind's): no VM is left
  // half-restored; the error panel says why, and Restart boots afresh.
  const devices = JSON.parse(JSON.stringify(saved.devices)) as { devices: { device: { kind: string } }[] };
  devices.devices[0]!.device.kind = "virtio-blx";
  const edited = Buffer.from(encodeSavedMachine({ ...saved, devices: devices as unknown as typeof saved.devices }));
  await page.getByLabel("Restore state").setInputFiles({ name: "edited.state", mimeType: "application/octet-stream", buffer: edited });
  await expect(page.getByTestId("error-title")).toHaveText("edited.state could not be restored");
  await expect(page.getByTestId("error-text")).toContainText('kind: expected "virtio-blk"');
  expect(await page.evaluate(() => window.v86msi!.vms[0]!.machine === undefined)).toBe(true);
  await page.getByRole("button", { name: "Restart this VM" }).click();
  await waitForPrompt(page);
  await run(page, "echo fresh", /^fresh$/);
});

test("state= in the URL starts VM 1 from a state file served beside the page; the page and guest --save read each other's files", async ({ page }) => {
  test.setTimeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), "page-state-"));
  try {
    // Saved by the headless `guest` command, in the vector-table mode.
    const cliState = join(dir, "cli.state");
    const saved = guestCommand("exec", "dd if=/dev/urandom of=/mnt/kept bs=64k count=8 2>/dev/null; sync; sha256sum /mnt/kept", "--msi-layout", "2020", "--save", cliState);
    expect(saved.status, saved.stderr).toBe(0);
    const sum = saved.stdout.trim().split(/\s+/)[0]!;
    expect(sum).toMatch(/^[0-9a-f]{64}$/);

    // The page's own settings are the defaults; the machine comes back as saved (vector table).
    await page.route("**/saved/demo.state", (route) => route.fulfill({ body: readFileSync(cliState), contentType: "application/octet-stream" }));
    await page.goto("./?state=saved/demo.state");
    await waitForPrompt(page);
    await shellAnswers(page);
    await run(page, "sha256sum /mnt/kept", new RegExp(`^${sum}\\s+/mnt/kept$`));
    await expect(page.getByTestId("irqmode")).toContainText(/table/i);
    await run(page, "echo page-wrote > /mnt/from-page; sync; echo written", /^written$/);

    // Saved by the page, restored by the guest command.
    const pageState = join(dir, "page.state");
    writeFileSync(pageState, await saveState(page));
    const restored = guestCommand("exec", "sha256sum /mnt/kept; cat /mnt/from-page", "--restore", pageState);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout.trim().split("\n")).toEqual([`${sum}  /mnt/kept`, "page-wrote"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // A state URL that is not there says so, and how to go on.
  await page.goto("./?state=saved/missing.state");
  await expect(page.getByTestId("error-text")).toContainText("saved/missing.state");
  await expect(page.getByTestId("error-help")).toContainText("without the state parameter");
});

test("Keep state here, reload: the page offers to resume it, and Resume goes on where it was", async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto("./");
  await waitForPrompt(page);
  await expect(page.getByTestId("kept-offer")).toBeHidden();
  const sum = await writeKnownFile(page);
  const before = await diskIrq(page);
  await page.getByRole("button", { name: "Keep state here" }).click();
  await expect(page.getByTestId("state-message")).toContainText("Kept the VM's state in this browser");

  await page.reload();
  await waitForPrompt(page);
  await expect(page.getByTestId("kept-offer")).toContainText("This browser keeps a state of VM 1");
  await shot(page, "kept-state-offer");
  await page.getByRole("button", { name: "Resume it" }).click();
  await expect(page.getByTestId("kept-offer")).toBeHidden();
  await checkRestored(page, sum, before);

  // Discard forgets it: the next load offers nothing.
  await page.reload();
  await waitForPrompt(page);
  await page.getByRole("button", { name: "Discard it" }).click();
  await expect(page.getByTestId("kept-offer")).toBeHidden();
  await page.reload();
  await waitForPrompt(page);
  await run(page, "echo no-offer", /^no-offer$/);
  await expect(page.getByTestId("kept-offer")).toBeHidden();
});

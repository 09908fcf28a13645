// Typing at once after a restore in the page: every key arrives (src/platform/v86/serial-input.ts;
// docs/save-restore.md, "Typing at once after a restore"). The VM is saved once, then restored
// several times; each time a long command line is typed right after the file is given, while
// the machine is being replaced, with no waiting for its shell, and its output must show every
// character.
import { expect, test, type Page } from "@playwright/test";
import { terminalLines, waitForPrompt } from "./terminal.ts";

const RESTORES = 4;

async function saveState(page: Page): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Save state" }).click()]);
  const { readFileSync } = await import("node:fs");
  return readFileSync((await download.path())!);
}

test(`a long line typed at once after each of ${RESTORES} restores arrives whole`, async ({ page }) => {
  test.setTimeout(300_000);
  await page.goto("./");
  await waitForPrompt(page);
  await expect(page.getByTestId("state")).toHaveText("running");
  const file = await saveState(page);
  for (let r = 0; r < RESTORES; r++) {
    const token = `restored${r}-${"abcdefghijklmnopqrstuvwxyz0123456789".repeat(2)}`;
    await page.getByLabel("Restore state").setInputFiles({ name: "vm.state", mimeType: "application/octet-stream", buffer: file });
    // At once: while the file is unpacked and the machine replaced (the session keeps these
    // keys for the restored machine), with no waiting for a prompt.
    await page.locator(".xterm-helper-textarea").focus();
    await page.keyboard.type(`echo ${token} | tr a-z A-Z`);
    await page.keyboard.press("Enter");
    const want = token.toUpperCase();
    await expect
      .poll(async () => (await terminalLines(page)).some((l) => l === want), { timeout: 60_000, intervals: [250] })
      .toBe(true);
  }
  const snap = (await page.evaluate(() => window.v86msi!.snapshot())) as { vms: Array<{ faults: string[] }> };
  expect(snap.vms[0]!.faults).toEqual([]);
});

// Waiting on a VM's machine through the page's debug handle (window.v86msi).
import type { Page } from "@playwright/test";
import { waitForPrompt } from "./terminal.ts";

/** Runs `action` (a click that restarts VM `n` in place) and waits for the new machine's prompt. */
export async function restartsInPlace(page: Page, action: () => Promise<void>, n = 1): Promise<void> {
  await page.evaluate((i) => ((window as unknown as { __oldMachine: unknown }).__oldMachine = window.v86msi!.vms[i]!.machine), n - 1);
  await action();
  await page.waitForFunction(
    (i) => {
      const m = window.v86msi!.vms[i]!.machine;
      return m !== undefined && m !== (window as unknown as { __oldMachine: unknown }).__oldMachine;
    },
    n - 1,
    { timeout: 60_000 },
  );
  await waitForPrompt(page, 60_000, `[data-vm="${n}"]`);
}

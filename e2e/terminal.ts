// Reading and typing into the page's xterm.js terminal the way a person does: by its rows.
import { expect, type Page } from "@playwright/test";

// With two VMs on the page, `within` names one VM's pane (vm(2) gives '[data-vm="2"]').
export const vm = (n: number): string => `[data-vm="${n}"]`;

/** The terminal's visible rows, trimmed (xterm pads rows with spaces and no-break spaces). */
export async function terminalLines(page: Page, within = ""): Promise<string[]> {
  try {
    return await page.locator(`${within} .xterm-rows > div`.trim()).evaluateAll((rows) =>
      rows.map((r) => (r.textContent ?? "").replace(/[\s\u00a0]+$/u, "")),
    );
  } catch (error) {
    // The page is navigating (a reload the test asked for): no rows yet.
    if (/Execution context was destroyed|navigat/.test(String(error))) return [];
    throw error;
  }
}

export async function waitForPrompt(page: Page, timeout = 60_000, within = ""): Promise<void> {
  await expect
    .poll(async () => (await terminalLines(page, within)).some((l) => l.startsWith("~ #")), { timeout, intervals: [250] })
    .toBe(true);
}

/** Types a command, waits for `expected` to show in the rows below it, returns those rows. */
export async function run(page: Page, command: string, expected: RegExp, timeout = 30_000, within = ""): Promise<string[]> {
  await page.locator(`${within} .xterm-helper-textarea`.trim()).focus();
  await page.keyboard.type(command);
  await page.keyboard.press("Enter");
  let after: string[] = [];
  await expect
    .poll(
      async () => {
        const lines = await terminalLines(page, within);
        // The typed line may wrap over several rows: find the prompt row it starts on. Spaces
        // are left out of the comparison: one that falls at a row's end is trimmed away.
        const squash = (t: string): string => t.replace(/\s+/g, "");
        const typed = squash(`~ # ${command}`);
        let at = -1;
        for (let i = lines.length - 1; i >= 0 && at < 0; i--) {
          if (!lines[i]!.startsWith("~ # ")) continue;
          let joined = "";
          for (let j = i; j < lines.length && joined.length < typed.length; j++) {
            joined += squash(lines[j]!);
            if (joined.startsWith(typed)) at = j;
          }
        }
        after = at >= 0 ? lines.slice(at + 1) : [];
        return after.some((l) => expected.test(l));
      },
      { timeout, intervals: [250] },
    )
    .toBe(true);
  return after;
}

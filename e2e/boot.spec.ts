import { expect, test } from "@playwright/test";
import { run, waitForPrompt } from "./terminal.ts";

test("boots Linux to a shell and runs a command typed into the terminal", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const started = Date.now();
  await page.goto("./");
  await expect(page.getByTestId("state")).toHaveText(/loading|booting|running/);
  await waitForPrompt(page);
  const bootSeconds = (Date.now() - started) / 1000;
  console.log(`page load to shell prompt: ${bootSeconds.toFixed(1)} s`);
  await expect(page.getByTestId("state")).toHaveText("running");

  const lines = await run(page, "uname -m", /^i[3-6]86$/);
  expect(lines.find((l) => /^i[3-6]86$/.test(l))).toBeTruthy();
  // Colours reach the terminal: the guest's escape sequence turns into a red span.
  await run(page, "printf '\\033[31mred\\033[0m done\\n'", /^red done$/);
  await expect(page.locator(".xterm-rows span.xterm-fg-1", { hasText: "red" }).last()).toBeVisible();
  await page.screenshot({ path: "test-results/screenshots/shell.png" });
  expect(errors).toEqual([]);
});

test("a missing image gives a clear error instead of a blank page", async ({ page }) => {
  await page.goto("./?kernel=guest/no-such-kernel");
  await expect(page.getByTestId("error")).toBeVisible();
  await expect(page.getByTestId("error-text")).toContainText("no-such-kernel");
  await expect(page.getByTestId("error-text")).toContainText("404");
  await page.screenshot({ path: "test-results/screenshots/missing-image.png" });
});

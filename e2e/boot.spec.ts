import { expect, test } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";

test("boots Linux to a shell, with the keyboard in the terminal, and runs a typed command", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const started = Date.now();
  await page.goto("./");
  await expect(page.getByTestId("state")).toHaveText(/loading|booting|running/);
  await shot(page, "booting");
  await waitForPrompt(page);
  const bootSeconds = (Date.now() - started) / 1000;
  console.log(`page load to shell prompt: ${bootSeconds.toFixed(1)} s`);
  await expect(page.getByTestId("state")).toHaveText("running");
  // Nobody clicked: typing goes to the guest at once.
  await expect(page.locator(".xterm-helper-textarea")).toBeFocused();
  await page.keyboard.type("echo typed-$((6*7))\n");
  await expect(page.locator(".xterm-rows")).toContainText("typed-42");
  // Tab stays in the terminal (the shell completes with it); Shift+Tab leaves it for the
  // VM's buttons, and a click on the terminal brings the keyboard back.
  await page.keyboard.press("Tab");
  await expect(page.locator(".xterm-helper-textarea")).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(page.getByLabel("Restore state")).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(page.getByRole("button", { name: "Keep state here" })).toBeFocused();
  await page.locator(".xterm-screen").click();
  await expect(page.locator(".xterm-helper-textarea")).toBeFocused();

  const lines = await run(page, "uname -m", /^i[3-6]86$/);
  expect(lines.find((l) => /^i[3-6]86$/.test(l))).toBeTruthy();
  // Colours reach the terminal: the guest's escape sequence turns into a red span.
  await run(page, "printf '\\033[31mred\\033[0m done\\n'", /^red done$/);
  await expect(page.locator(".xterm-rows span.xterm-fg-1", { hasText: "red" }).last()).toBeVisible();
  await shot(page, "shell");
  expect(errors).toEqual([]);
});

test("on a narrow screen the terminal takes the width and the device panel follows below it", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("./");
  await waitForPrompt(page);
  const term = (await page.locator(".console").boundingBox())!;
  const panel = (await page.getByTestId("devices").boundingBox())!;
  expect(term.width).toBeGreaterThan(370);
  expect(term.height).toBeGreaterThan(300);
  expect(panel.y).toBeGreaterThanOrEqual(term.y + term.height - 1);
  // Nothing sticks out sideways: no horizontal scrolling of the page.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await run(page, "echo narrow-ok", /^narrow-ok$/);
  await shot(page, "narrow");
  await shot(page, "narrow-full", true);
});

test("a missing image gives a clear error instead of a blank page", async ({ page }) => {
  await page.goto("./?kernel=guest/no-such-kernel");
  await expect(page.getByTestId("error")).toBeVisible();
  await expect(page.getByTestId("error-text")).toContainText("no-such-kernel");
  await expect(page.getByTestId("error-text")).toContainText("404");
  await expect(page.getByTestId("error-help")).toContainText("guest/");
  // Without images a restart cannot help: the panel offers a reload and the default settings.
  await expect(page.getByRole("button", { name: "Restart this VM" })).toBeHidden();
  await expect(page.getByRole("button", { name: "Reload the page" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Open with the default settings" })).toHaveAttribute("href", "./");
  await shot(page, "missing-image");
});

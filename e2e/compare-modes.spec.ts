import { expect, test } from "@playwright/test";
import { shot } from "./screenshots.ts";
import { run, waitForPrompt } from "./terminal.ts";

// "Compare interrupt modes": three machines of the page's own, one per mode, the same workload.
// What a user would check in the table: the line costs register accesses per interrupt and MSI
// does not; the per-queue mode sets up without the table's commands; the user's VM waits,
// paused, and carries on afterwards.

const cell = (metric: string, mode: string) => `[data-testid="compare-table"] tr[data-metric="${metric}"] td[data-mode="${mode}"]`;

test("Compare interrupt modes: per-queue, table and line side by side; the user's VM is paused meanwhile", async ({ page }) => {
  test.setTimeout(600_000);
  await page.goto("./");
  await waitForPrompt(page);
  await page.getByRole("button", { name: "Compare interrupt modes" }).click();
  await expect(page.getByRole("dialog")).toBeVisible();
  await expect(page.getByTestId("state")).toHaveText("paused");
  await expect(page.locator('#compare [data-part="progress"]')).toContainText("booting");

  await page.waitForFunction(() => window.v86msi?.comparison?.running === false, undefined, { timeout: 540_000, polling: 1000 });
  const result = await page.evaluate(() => window.v86msi!.comparison!);
  expect(result.error).toBeNull();
  expect(result.figures!.map((f) => f.mode)).toEqual(["queue", "table", "line"]);
  expect(result.figures!.map((f) => f.observed)).toEqual(["queue", "table", "line"]);

  const table = page.getByTestId("compare-table");
  await expect(table.locator("thead th[data-mode]")).toHaveText(["per-queue", "vector table", "line"]);
  const value = async (metric: string, mode: string) => Number(await page.locator(cell(metric, mode)).getAttribute("data-value"));
  // The line: one interrupt per read, and taking it costs InterruptStatus + InterruptACK.
  expect(await value("irq-per-read", "line")).toBeGreaterThanOrEqual(0.99);
  expect(await value("acc-per-irq", "line")).toBe(2);
  expect(await value("status-per-irq", "line")).toBe(1);
  expect(await value("bind-msi", "line")).toBe(0);
  await expect(page.locator(cell("per-mask", "line"))).toHaveText("n/a");
  for (const mode of ["queue", "table"]) {
    // MSI: an interrupt per read too, and no register access to take it.
    expect(await value("irq-per-read", mode)).toBeGreaterThanOrEqual(0.99);
    expect(await value("acc-per-irq", mode)).toBe(0);
    expect(await value("status-per-irq", mode)).toBe(0);
    expect(await value("acc-per-read", mode)).toBe(1);
    expect(await value("bind-msi", mode)).toBeGreaterThan(0);
    expect(await value("per-mask", mode)).toBeGreaterThanOrEqual(2);
    expect(await value("iops", mode)).toBeGreaterThan(0);
  }
  // The per-queue mode programs its pairs without the table's CONFIGURE or MAP commands.
  expect(await value("bind-vector-cmds", "queue")).toBe(0);
  expect(await value("bind-vector-cmds", "table")).toBeGreaterThan(0);
  await expect(page.getByTestId("compare-chart").locator("rect")).not.toHaveCount(0);
  await expect(page.getByTestId("compare-verdict")).toContainText("I/O path");
  await shot(page, "compare-modes");

  // The user's VM runs again and answers.
  await page.getByRole("button", { name: "Close" }).click();
  await expect(page.getByTestId("state")).toHaveText("running");
  await run(page, "echo after-$((6*7))", /after-42/);
});

// Screenshots of the page's main states: saved under <outputDir>/screenshots/ (by default
// test-results/screenshots/, kept by the test run for people to look at) and attached to the
// test's report.
import { join } from "node:path";
import { test, type Page } from "@playwright/test";

export async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  const path = join(test.info().project.outputDir, "screenshots", `${name}.png`);
  await page.screenshot({ path, fullPage });
  await test.info().attach(name, { path, contentType: "image/png" });
}

// Screenshots of the page's main states: saved under test-results/screenshots/ (kept by the
// test run for people to look at) and attached to the test's report.
import { test, type Page } from "@playwright/test";

export async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  const path = `test-results/screenshots/${name}.png`;
  await page.screenshot({ path, fullPage });
  await test.info().attach(name, { path, contentType: "image/png" });
}

import { defineConfig } from "@playwright/test";

// Debian's Chromium (apt-get install chromium): Playwright's own browser download is not
// possible on these machines. The app is tested as it ships: the production build, served
// from a sub-path.
// E2E_PORT: another port when several test runs share one machine (each gets its own server).
const PORT = Number(process.env["E2E_PORT"] ?? 4173);
export const BASE_PATH = "/demo/";

export default defineConfig({
  testDir: "e2e",
  // e2e/*.test.ts are unit tests of the test tooling (Vitest runs them).
  testMatch: "**/*.spec.ts",
  timeout: 120_000,
  expect: { timeout: 60_000 },
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: `http://127.0.0.1:${PORT}${BASE_PATH}`,
    viewport: { width: 1280, height: 800 },
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: {
    command: `npx tsx e2e/static-server.ts ${PORT} ${BASE_PATH} dist`,
    url: `http://127.0.0.1:${PORT}${BASE_PATH}`,
    reuseExistingServer: !process.env["CI"],
    timeout: 30_000,
  },
});

import { defineConfig } from "vitest/config";

// base "./" keeps every asset path relative, so the built site works from any sub-path
// (a GitHub Pages project page, a folder on a static server).
export default defineConfig({
  base: "./",
  build: { target: "es2022", outDir: "dist", assetsInlineLimit: 0 },
  // The dev server looks for dependencies from the app's page only: by default it scans every
  // .html, and examples/minimal's imports the packed library, which is installed in its own folder.
  optimizeDeps: { entries: ["index.html"] },
  test: {
    globalSetup: ["tests/setup/node20-polyfills.ts"],
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["src/**/*.test.ts", "bench/**/*.test.ts", "e2e/**/*.test.ts", "package/**/*.test.ts"], environment: "node" },
      },
      {
        // Boots the real guest in v86 under Node: slower, one file at a time.
        extends: true,
        test: {
          name: "guest",
          include: ["tests/guest/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          // The memory checks (network flood) force a collection before they measure.
          execArgv: ["--expose-gc"],
        },
      },
    ],
  },
});

import { defineConfig } from "vitest/config";
// The bench helpers' own unit tests (the main config's unit project covers src/ only).
export default defineConfig({ test: { include: ["bench/**/*.test.ts"], environment: "node" } });

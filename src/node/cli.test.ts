// The `guest` command's refusals, run as a person runs it: they come before any boot, so these
// take a second each.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

function guest(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/node/cli.ts", ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("guest --msi-mode", () => {
  it("is in the usage", () => {
    const r = guest("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--msi-mode MODE +interrupts: queue .* table .* or line/s);
    expect(r.stdout).toMatch(/--no-msi +the same as --msi-mode line/);
  });

  it("refuses an unknown mode with exit status 2, before booting", () => {
    const r = guest("exec", "true", "--msi-mode", "vectors");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('guest: --msi-mode wants one of queue, table, line, not "vectors"\n');
    expect(r.stdout).toBe("");
  });

  it("refuses --no-msi with an MSI mode", () => {
    const r = guest("exec", "true", "--no-msi", "--msi-mode", "queue");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/contradicts --msi-mode queue/);
  });
});

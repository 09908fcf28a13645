// The `guest` command's refusals, run as a person runs it: they come before any boot, so these
// take a second each.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

function guest(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/node/cli.ts", ...args], { encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("guest --msi-layout", () => {
  it("is in the usage", () => {
    const r = guest("--help");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--msi-layout L +the MSI layout the devices offer: v3 .* or 2020/s);
    expect(r.stdout).toMatch(/--no-msi +the devices offer no MSI/);
  });

  it("refuses an unknown layout with exit status 2, before booting", () => {
    const r = guest("exec", "true", "--msi-layout", "v2");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('guest: --msi-layout wants one of v3, 2020, not "v2"\n');
    expect(r.stdout).toBe("");
  });

  it("refuses --no-msi with a layout", () => {
    const r = guest("exec", "true", "--no-msi", "--msi-layout", "2020");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/contradicts --msi-layout 2020/);
  });
});

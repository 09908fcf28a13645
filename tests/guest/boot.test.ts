// The committed guest boots in v86 under Node with our disk attached, and the `guest` command
// does what README.md says.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { createDevices } from "../../src/node/devices.ts";
import { REPO_ROOT } from "../../src/node/paths.ts";

describe("the default guest under Node", () => {
  let guest: BootedGuest;
  beforeAll(async () => {
    guest = await bootGuest({ devices: await createDevices({}) });
    console.log(`boot to prompt: ${(guest.bootMs / 1000).toFixed(1)} s`);
  });
  afterAll(() => guest?.shutdown());

  it("runs a 32-bit x86 kernel", async () => {
    const r = await guest.console.exec("uname -m", 10_000);
    expect(r).toEqual({ output: "i686\n", status: 0 });
  });

  it("takes interrupts through the IO-APIC and the local APIC timer", async () => {
    const { output } = await guest.console.exec("cat /proc/interrupts", 10_000);
    expect(output).toMatch(/^\s*0:\s+\d+\s+IO-APIC\s+0-edge\s+timer$/m);
    expect(output).toMatch(/^\s*4:\s+[1-9]\d*\s+IO-APIC\s+4-edge\s+ttyS0$/m);
    const loc = /^LOC:\s+(\d+)/m.exec(output);
    expect(Number(loc?.[1])).toBeGreaterThan(0);
    expect(output).toMatch(/virtio0/);
  });

  it("reports a command's exit status and keeps the shell alive after `exit`", async () => {
    expect(await guest.console.exec("echo out; echo err >&2; exit 7", 10_000)).toEqual({ output: "out\nerr\n", status: 7 });
    expect((await guest.console.exec("echo still here", 10_000)).output).toBe("still here\n");
  });

  it("mounted the default disk at /mnt", async () => {
    const { output } = await guest.console.exec("cat /mnt/README.txt | head -1; grep ' /mnt ' /proc/mounts", 10_000);
    expect(output).toMatch(/\/dev\/vda \/mnt ext2 rw/);
  });
});

describe("npm run guest -- exec", () => {
  const run = (...args: string[]) =>
    spawnSync("npx", ["tsx", "src/node/cli.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 110_000 });

  it("prints exactly the command's output and exits with its status", () => {
    const r = run("exec", "printf 'a b\\n'; uname -s; exit 3");
    expect(r.stdout).toBe("a b\nLinux\n");
    expect(r.status).toBe(3);
  });

  it("fails clearly on a kernel that cannot boot", () => {
    const r = run("exec", "true", "--kernel", "/nonexistent/bzImage");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^guest: cannot read the kernel \/nonexistent\/bzImage: ENOENT/);
  });

  it("refuses unknown options with the usage", () => {
    const r = run("exec", "true", "--bogus");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: guest exec/);
  });
});

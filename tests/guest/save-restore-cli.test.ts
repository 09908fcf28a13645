// `guest exec CMD --save FILE` and `guest exec CMD --restore FILE`, as README's users run them:
// the restored machine has the file the saved one wrote, on its disk, and the same interrupts;
// options that would build another machine, and a damaged file, are refused. The file is
// compressed; an uncompressed one (the older format) still restores.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/node/paths.ts";
import { encodeSavedMachine } from "../../src/machine/state-file.ts";
import { isCompressedStateFile, unpackSavedMachine } from "../../src/machine/state-file-gzip.ts";

const dir = mkdtempSync(join(tmpdir(), "guest-save-"));
const run = (...args: string[]) =>
  spawnSync("npx", ["tsx", "src/node/cli.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 110_000 });

describe("guest --save and --restore", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, "machine.state");

  it("a restored machine carries on where the saved one stopped: its disk, its interrupts, its network", () => {
    const irqs = "grep virtio /proc/interrupts | awk '{print $1, $NF}'";
    const saved = run("exec", `head -c 300000 /dev/urandom > /mnt/f; sync; md5sum /mnt/f; ${irqs}`, "--msi-mode", "table", "--save", state);
    expect(saved.stderr).toBe("");
    expect(saved.status).toBe(0);
    const [sum, ...lines] = saved.stdout.trim().split("\n");
    expect(lines.join("\n")).toMatch(/virtio0-req\.0[\s\S]*virtio1-input\.0/);
    // The NIC (virtio1) comes back with its address and filter; the network backend is new.
    const restored = run("exec", `echo 3 > /proc/sys/vm/drop_caches; md5sum /mnt/f; ${irqs}; ping -c 2 -W 5 192.168.86.1 | grep -o '2 packets received'`, "--restore", state);
    expect(restored.stderr).toBe("");
    expect(restored.status).toBe(0);
    expect(restored.stdout.trim().split("\n")).toEqual([sum, ...lines, "2 packets received"]);
  });

  it("writes a compressed file, and still restores an uncompressed one", async () => {
    const file = readFileSync(state);
    expect(isCompressedStateFile(file)).toBe(true);
    const plain = encodeSavedMachine(await unpackSavedMachine(file));
    console.log(`guest --save: ${(file.length / 2 ** 20).toFixed(1)} MiB compressed, ${(plain.length / 2 ** 20).toFixed(1)} MiB uncompressed`);
    expect(file.length).toBeLessThan(plain.length / 2);
    const old = join(dir, "plain.state");
    writeFileSync(old, plain);
    const r = run("exec", "md5sum /mnt/f | cut -c1-8", "--restore", old);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{8}\n$/);
  });

  it("refuses options that would build another machine, and a damaged file", () => {
    const other = run("exec", "true", "--restore", state, "--memory", "256");
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/--memory comes from the saved machine with --restore/);
    const bytes = readFileSync(state);
    const cut = join(dir, "cut.state");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4096));
    const r = run("exec", "true", "--restore", cut);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a usable saved machine: its compressed data is cut short or damaged/);
  });
});

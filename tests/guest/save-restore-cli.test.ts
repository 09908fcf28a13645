// `guest exec CMD --save FILE` and `guest exec CMD --restore FILE`, as README's users run them:
// the restored machine has the file the saved one wrote, on its disk, and the same interrupts;
// options that would build another machine, and a damaged file, are refused. The file is
// compressed; an uncompressed one and one of format 2 still restore. A hostile file (a gzip
// bomb, a header asking for memory v86 cannot build) is refused at once, naming the limit, with
// the process's memory bounded (docs/save-restore.md, "Limits").
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants, createGzip } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/node/paths.ts";
import { crc32 } from "../../src/machine/crc32.ts";
import { encodeSavedMachine } from "../../src/machine/state-file.ts";
import { isCompressedStateFile, unpackSavedMachine } from "../../src/machine/state-file-gzip.ts";

const dir = mkdtempSync(join(tmpdir(), "guest-save-"));
const run = (...args: string[]) =>
  spawnSync("npx", ["tsx", "src/node/cli.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 110_000 });

/** The `guest` command run by node itself (no npx in between), reporting its own peak RSS on exit. */
const REPORT_RSS = 'data:text/javascript,process.on("exit",()=>process.stderr.write("maxRSS="+process.resourceUsage().maxRSS+"\\n"))';
function measured(...args: string[]): { status: number | null; stderr: string; ms: number; maxRssMiB: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", "--import", REPORT_RSS, "src/node/cli.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
  const ms = performance.now() - started;
  const rss = /maxRSS=(\d+)/.exec(r.stderr);
  expect(rss, r.stderr).not.toBeNull();
  return { status: r.status, stderr: r.stderr.replace(/maxRSS=\d+\n/, ""), ms, maxRssMiB: Number(rss![1]) / 1024 };
}

/** A gzip file of `n` zero bytes, made a MiB at a time. */
async function gzipOfZeros(path: string, n: number): Promise<number> {
  const gz = createGzip({ level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [];
  gz.on("data", (d: Buffer) => parts.push(d));
  const ended = new Promise((resolve) => gz.on("end", resolve));
  const mib = new Uint8Array(2 ** 20);
  for (let left = n; left > 0; left -= mib.length) if (!gz.write(mib)) await new Promise((resolve) => gz.once("drain", resolve));
  gz.end();
  await ended;
  const file = Buffer.concat(parts);
  writeFileSync(path, file);
  return file.length;
}

describe("guest --save and --restore", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, "machine.state");

  it("a restored machine carries on where the saved one stopped: its disk, its interrupts, its network", () => {
    const irqs = "grep virtio /proc/interrupts | awk '{print $1, $NF}'";
    const saved = run("exec", `head -c 300000 /dev/urandom > /mnt/f; sync; md5sum /mnt/f; ${irqs}`, "--msi-layout", "2020", "--save", state);
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

  it("refuses a 1 MiB gzip of zeros (1 GiB inflated) in under a second with its peak RSS under 400 MiB", async () => {
    const bomb = join(dir, "zeros.gz");
    const size = await gzipOfZeros(bomb, 2 ** 30);
    expect(size).toBeGreaterThan(1_000_000);
    const r = measured("exec", "true", "--restore", bomb);
    console.log(`--restore of a ${(size / 2 ** 20).toFixed(2)} MiB gzip of zeros: refused in ${r.ms.toFixed(0)} ms, peak RSS ${r.maxRssMiB.toFixed(0)} MiB`);
    expect(r.stderr).toBe("guest: not a usable saved machine: wrong magic (not a state file)\n");
    expect(r.status).toBe(2);
    expect(r.maxRssMiB).toBeLessThan(400);
    // The whole process, Node and tsx starting included; the refusal itself takes milliseconds.
    expect(r.ms).toBeLessThan(process.env["CI"] ? 3000 : 1000);
  });

  it("refuses a file that asks for memory v86 cannot build, naming the limit; reads format 2; never takes a relay from the file", async () => {
    const saved = await unpackSavedMachine(readFileSync(state));
    const big = join(dir, "big.state");
    writeFileSync(big, encodeSavedMachine({ ...saved, boot: { ...saved.boot, memoryMB: 4096 } }));
    const r = run("exec", "true", "--restore", big);
    expect(r.stderr).toBe("guest: not a usable saved machine: its memory: 4096 MiB is outside the supported memory range of 80 to 2047 MiB (v86 does not build 2048 MiB or more as asked)\n");
    expect(r.status).toBe(2);
    // Format 2 (the device state inside the header), as the code before format 3 wrote it.
    const v86 = new Uint8Array(saved.v86State);
    const header = new TextEncoder().encode(JSON.stringify({ kind: "v86-msi-saved-machine", version: 2, boot: saved.boot, devices: saved.devices, v86Bytes: v86.length, diskBytes: saved.disk!.length }));
    const old = new Uint8Array(12 + header.length + v86.length + saved.disk!.length + 4);
    old.set(new TextEncoder().encode("V86MSIS1"));
    new DataView(old.buffer).setUint32(8, header.length, true);
    old.set(header, 12);
    old.set(v86, 12 + header.length);
    old.set(saved.disk!, 12 + header.length + v86.length);
    new DataView(old.buffer).setUint32(old.length - 4, crc32(old.subarray(0, old.length - 4)), true);
    const v2 = join(dir, "v2.state");
    writeFileSync(v2, old);
    const back = run("exec", "md5sum /mnt/f | cut -c1-8", "--restore", v2);
    expect(back.stderr).toBe("");
    expect(back.stdout).toMatch(/^[0-9a-f]{8}\n$/);
    // A file that names a WISP relay the command line did not: not used, and said.
    const relay = join(dir, "relay.state");
    writeFileSync(relay, encodeSavedMachine({ ...saved, boot: { ...saved.boot, net: "wisps://relay.evil.example/" } }));
    const r2 = run("exec", "md5sum /mnt/f | cut -c1-8", "--restore", relay);
    expect(r2.stderr).toBe("guest: the saved machine names the relay wisps://relay.evil.example/; without --net wisps://relay.evil.example/ its network is fetch\n");
    expect(r2.stdout).toBe(back.stdout);
  });

  it("refuses options that would build another machine, and a damaged file", () => {
    const other = run("exec", "true", "--restore", state, "--memory", "256");
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/--memory comes from the saved machine with --restore/);
    const tooMuch = run("exec", "true", "--memory", "4096");
    expect(tooMuch.stderr).toBe("guest: --memory 4096: 4096 MiB is outside the supported memory range of 80 to 2047 MiB (v86 does not build 2048 MiB or more as asked)\n");
    const notKernel = run("exec", "true", "--kernel", "index.html");
    expect(notKernel.stderr).toBe('guest: --kernel index.html: not a Linux kernel (bzImage) v86 can load: no "HdrS" setup header at 0x202 (is it an HTML page, an ELF vmlinux or a compressed file?)\n');
    expect(notKernel.status).toBe(2);
    const bytes = readFileSync(state);
    const cut = join(dir, "cut.state");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 4096));
    const r = run("exec", "true", "--restore", cut);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a usable saved machine: its compressed data is cut short or damaged/);
  });
});

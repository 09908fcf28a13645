// The library as a user gets it: built, packed by npm into a tarball, installed into an empty
// project next to the stock v86 package, type-checked against a consumer that uses all three
// entries, and imported by Node. Offline: the tarball and v86 (this repository's installed copy)
// are local files, so npm needs neither the registry nor its cache.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUT, PACKAGE_NAME, ROOT, buildPackage } from "./build.ts";

const CONSUMER = `
import { V86 } from "v86";
import {
  BlockDevice, MemoryBackend, NetDevice, V86BusBackend, attachVirtioMmio, newcArchive, prependAcpiTable, S_IFREG, virtioMmioAcpiTable, virtioMmioCmdline,
  type VirtioMmioAttachment,
} from "${PACKAGE_NAME}";
import { HttpRangeBackend, IdbBlockStore } from "${PACKAGE_NAME}/browser";
import { FileBackend } from "${PACKAGE_NAME}/node";

export async function start(kernel: ArrayBuffer): Promise<VirtioMmioAttachment> {
  const emulator = new V86({
    wasm_path: "v86.wasm",
    bzimage: { buffer: kernel },
    cmdline: "console=ttyS0 " + virtioMmioCmdline({ count: 2 }),
    acpi: true,
    autostart: false,
  });
  await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
  const disk = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(1 << 20)), name: "blk0" });
  const net = new V86BusBackend();
  const attached = attachVirtioMmio(emulator, { devices: [disk, new NetDevice({ backend: net })], msi: {} });
  const counters: number = attached.msiRouter.counters.delivered + attached.devices[0]!.line.counters.raised;
  void counters;
  await emulator.run();
  return attached;
}
export async function startDistroKernel(kernel: ArrayBuffer, initramfs: Uint8Array, module: Uint8Array): Promise<VirtioMmioAttachment> {
  const modules = newcArchive([{ name: "virtio_mmio.ko", mode: S_IFREG | 0o644, data: module }]);
  const initrd = prependAcpiTable(virtioMmioAcpiTable({ count: 1 }), new Uint8Array([...modules, ...initramfs]));
  const emulator = new V86({ wasm_path: "v86.wasm", bzimage: { buffer: kernel }, initrd: { buffer: initrd.buffer as ArrayBuffer }, acpi: true, autostart: false });
  await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
  const disk = new BlockDevice({ backend: MemoryBackend.blank(1 << 20) });
  const attached = attachVirtioMmio(emulator, { devices: [disk], msi: false, discovery: "acpi" });
  const checked: boolean = attached.acpiTableChecked && attached.acpiTable().length > 36;
  void checked;
  await emulator.run();
  return attached;
}
export const kinds = [HttpRangeBackend, IdbBlockStore, FileBackend].map((k) => k.name);
`;

const TSCONFIG = {
  compilerOptions: { target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023", "DOM"], types: [], strict: true, noEmit: true, skipLibCheck: false },
  files: ["consumer.ts", "readme-example-1.ts", "readme-example-2.ts"],
};

/** The package README's examples, checked as users would paste them. */
const README_EXAMPLES = [...readFileSync(join(ROOT, "package", "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe("the packed library in an empty project", () => {
  let scratch: string;
  let tarball: string;
  const tsc = (file: string) =>
    spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", file], { cwd: scratch, encoding: "utf8" });

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "v86-virtio-pack-"));
    buildPackage();
    const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: OUT, encoding: "utf8" })) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(scratch, packed[0]!.filename);
    writeFileSync(join(scratch, "files.json"), JSON.stringify(packed[0]!.files.map((f) => f.path)));
    writeFileSync(
      join(scratch, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { [PACKAGE_NAME]: `file:${tarball}`, v86: `file:${join(ROOT, "node_modules", "v86")}` } }),
    );
    // --install-links copies v86 in instead of linking it: npm 11 fails on a linked package that
    // satisfies another's peer dependency ("Cannot read properties of null (reading 'matches')").
    execFileSync("npm", ["install", "--offline", "--install-links", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: scratch, stdio: "pipe" });
    writeFileSync(join(scratch, "consumer.ts"), CONSUMER);
    expect(README_EXAMPLES).toHaveLength(2);
    README_EXAMPLES.forEach((example, i) => writeFileSync(join(scratch, `readme-example-${i + 1}.ts`), example));
    writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify(TSCONFIG));
  }, 180_000);
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("ships the emitted entries, README and LICENSE, and none of the app, the tests or the sources", () => {
    const files = JSON.parse(readFileSync(join(scratch, "files.json"), "utf8")) as string[];
    for (const f of ["package.json", "README.md", "LICENSE", "dist/lib/core.js", "dist/lib/core.d.ts", "dist/lib/browser.js", "dist/lib/node.d.ts"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /\.test\.|\/ui\/|\/machine\/|\/compare\/|\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
  });

  it("type-checks a consumer of all three entries and the README's examples with the stock v86 package (strict, NodeNext, libraries checked)", () => {
    const r = tsc("tsconfig.json");
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 60_000);

  it("and the same check fails on a consumer that misuses the API", () => {
    writeFileSync(join(scratch, "bad.ts"), CONSUMER.replace("msi: {}", 'msi: "yes"'));
    writeFileSync(join(scratch, "tsconfig.bad.json"), JSON.stringify({ ...TSCONFIG, files: ["bad.ts"] }));
    const r = tsc("tsconfig.bad.json");
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/bad\.ts\(\d+,\d+\): error TS2322/);
  }, 60_000);

  it("runs under Node: the core builds the announcements, the SSDT initrd and a disk, the node entry a file backend", () => {
    writeFileSync(join(scratch, "disk.img"), new Uint8Array(4096));
    const script = `
      import { BlockDevice, MemoryBackend, initrdAcpiTables, prependAcpiTable, virtioMmioAcpiTable, virtioMmioCmdline } from "${PACKAGE_NAME}";
      import { FileBackend } from "${PACKAGE_NAME}/node";
      const disk = new BlockDevice({ backend: new FileBackend("disk.img"), name: "blk0" });
      new BlockDevice({ backend: new MemoryBackend(new Uint8Array(512)) });
      console.log(virtioMmioCmdline({ count: 1 }), disk.queueMaxSizes.length);
      const table = virtioMmioAcpiTable({ count: 1 });
      const found = initrdAcpiTables(prependAcpiTable(table, new Uint8Array([0x1f, 0x8b])));
      console.log(String.fromCharCode(...table.subarray(0, 4)), table.length, found.map((t) => t.name + " " + t.table.length).join());
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: scratch, encoding: "utf8" });
    expect(out).toBe("virtio_mmio.device=0x200@0xd0000000:5 1\nSSDT 104 kernel/firmware/acpi/virtio-mmio.aml 104\n");
  });

  it("passes npm publish --dry-run", () => {
    // --offline: without it npm asks the registry (who is logged in, the version's existence)
    // and waits out its retries where there is no network; the manifest and files are checked
    // the same either way.
    const r = spawnSync("npm", ["publish", "--dry-run", "--offline"], { cwd: OUT, encoding: "utf8", timeout: 50_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+ ${PACKAGE_NAME}@`);
  }, 60_000);
});

// Debian 12's own i386 kernel (linux-image-686, unmodified, as Debian ships it) on our devices in
// a V86 this test builds itself with the `v86` package. That kernel has virtio_mmio as a module
// and no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, so the `virtio_mmio.device=` arguments mean nothing
// to it: it finds the devices through ACPI, from the SSDT virtioMmioAcpiTable makes, which
// prependAcpiTable puts in front of the initrd (CONFIG_ACPI_TABLE_UPGRADE). The initrd is that
// archive, then one with Debian's virtio modules, then our guest's initramfs (busybox, /init).
// Debian's virtio_mmio has no MSI: the devices run on their IO-APIC lines.
//
// The kernel comes from DEBIAN_KERNEL_DIR (default /tmp/debian-kernel), where
// guest/fetch-debian-kernel.sh puts the linux-image-686 .deb and extracts it into x/:
// x/boot/vmlinuz-* and x/lib/modules/*/, found by pattern so that a newer Debian kernel needs no
// change here. Missing, the test fails and says
// how to fetch it; DEBIAN_KERNEL_DIR=skip leaves it out on purpose (scripts/preflight.mjs says so).
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { FEATURE } from "../../src/virtio/constants.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { V86BusBackend } from "../../src/devices/net/v86-bus-backend.ts";
import { GuestConsole } from "../../src/machine/guest-console.ts";
import { PROMPT } from "../../src/node/boot.ts";
import { DEFAULT_GUEST } from "../../src/node/paths.ts";
import { prependAcpiTable } from "../../src/firmware/acpi-initrd.ts";
import { virtioMmioAcpiTable } from "../../src/firmware/acpi-ssdt.ts";
import { attachVirtioMmio, type VirtioMmioAttachment } from "../../src/platform/attach.ts";
import { newcArchive, S_IFDIR, S_IFREG } from "../../src/firmware/cpio-newc.ts";
import { GUEST_BASE_CMDLINE } from "../../src/firmware/guest-cmdline.ts";
import { virtioMmioCmdline } from "../../src/firmware/mmio-placement.ts";
import { sh } from "./shell.ts";
import { fileBuffer, stockV86, type Emulator } from "./stock-v86.ts";

const DIR = process.env.DEBIAN_KERNEL_DIR || "/tmp/debian-kernel";
const skipped = DIR === "skip";

/** The kernel and its modules directory in the package extracted at DIR/x, or null. */
function findKernel(dir: string): { vmlinuz: string; modules: string } | null {
  const root = join(dir, "x");
  const boot = join(root, "boot");
  const vmlinuz = existsSync(boot) ? readdirSync(boot).find((f) => f.startsWith("vmlinuz-")) : undefined;
  if (!vmlinuz) return null;
  const version = vmlinuz.slice("vmlinuz-".length);
  const modules = join(root, "lib/modules", version);
  return existsSync(modules) ? { vmlinuz: join(boot, vmlinuz), modules } : null;
}
const kernel = skipped ? null : findKernel(DIR);

/** Every .ko under `dir`, by module name (as depends= spells it: dashes as underscores). */
function moduleFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".ko")) out.set(e.name.slice(0, -3).replace(/-/g, "_"), join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

/** The modules `wanted` needs, dependencies first, from each .ko's own `depends=` (no modules.dep in the .deb). */
function loadOrder(files: Map<string, string>, wanted: readonly string[]): Array<{ name: string; bytes: Uint8Array }> {
  const order: Array<{ name: string; bytes: Uint8Array }> = [];
  const visit = (name: string) => {
    if (order.some((m) => m.name === name)) return;
    const path = files.get(name);
    if (!path) throw new Error(`no ${name}.ko under the Debian kernel's modules`);
    const bytes = new Uint8Array(readFileSync(path));
    const depends = /\0depends=([^\0]*)\0/.exec(Buffer.from(bytes).toString("latin1"))?.[1] ?? "";
    for (const dep of depends.split(",").filter(Boolean)) visit(dep);
    order.push({ name, bytes });
  };
  for (const name of wanted) visit(name);
  return order;
}

/** An uncompressed archive with the modules under /debian-modules, in load order. */
function modulesArchive(modules: ReadonlyArray<{ name: string; bytes: Uint8Array }>): Uint8Array {
  return newcArchive([
    { name: MODULES_DIR, mode: S_IFDIR | 0o755 },
    ...modules.map((m) => ({ name: `${MODULES_DIR}/${m.name}.ko`, mode: S_IFREG | 0o644, data: m.bytes })),
  ]);
}
const insmodAll = (modules: ReadonlyArray<{ name: string }>) => modules.map((m) => `insmod /${MODULES_DIR}/${m.name}.ko`).join(" && ");
const WANTED = ["virtio_mmio", "virtio_blk", "virtio_net"];

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
};
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

interface Booted {
  emulator: Emulator;
  attached: VirtioMmioAttachment;
  console: GuestConsole;
  disk: BlockDevice;
  nic: NetDevice;
  diskBytes: Uint8Array;
}

const DISK_SIZE = 16 * 1024 * 1024;
/**
 * The disk on IRQ 7, the NIC on 10. SeaBIOS's MADT leaves 7 at the ISA default, edge-triggered
 * (10 it overrides to level): a kernel taking the SSDT's extended interrupt descriptor as written
 * programs 7 level-triggered all the same, which /proc/interrupts shows as fasteoi.
 */
const PLACEMENT = { count: 2, irqs: [7, 10] };
/**
 * Debian's kernel spends most of its boot in v86 on work a test has no use for: the crypto
 * self-tests (about 10 s of guest time) and the ISA Plug and Play scan (2 s). Neither touches
 * what is tested here. Its XZ decompression (about 12 s) cannot be skipped.
 */
const DEBIAN_CMDLINE = "cryptomgr.notests noisapnp";
const MODULES_DIR = "debian-modules";
/** Debian's generic kernel takes about 50 s to our shell in v86 under Node (ours: about 5). */
const BOOT_TIMEOUT_MS = 100_000;

/**
 * Debian's kernel booted with our initramfs, a disk and a NIC attached. `table`: the SSDT in
 * front of the initrd and discovery "acpi"; without it, the announcements on the command line
 * as for a kernel that reads them.
 */
async function boot(modules: Uint8Array, table: boolean): Promise<Booted> {
  const placement = PLACEMENT;
  const userInitrd = concat(modules, new Uint8Array(fileBuffer(DEFAULT_GUEST.initrd)));
  const initrd = table ? prependAcpiTable(virtioMmioAcpiTable(placement), userInitrd) : userInitrd;
  const cmdline = [GUEST_BASE_CMDLINE, DEBIAN_CMDLINE, table ? "" : virtioMmioCmdline(placement)].filter(Boolean).join(" ");
  const emulator = await stockV86(cmdline, {
    bzimage: { buffer: fileBuffer(kernel!.vmlinuz) },
    initrd: { buffer: initrd.buffer },
    memory_size: 256 * 1024 * 1024,
    net_device: { type: "none", relay_url: "fetch" },
  });
  const diskBytes = new Uint8Array(DISK_SIZE);
  const disk = new BlockDevice({ backend: new MemoryBackend(diskBytes), name: "blk0" });
  const backend = new V86BusBackend();
  const nic = new NetDevice({ backend, name: "net0" });
  const attached = attachVirtioMmio(emulator, { devices: [disk, nic], msi: false, irqs: PLACEMENT.irqs, discovery: table ? "acpi" : "cmdline" });
  backend.attach(attached.emulatorBus);
  emulator.network_adapter!.fetch = async () => new Response("hello\n", { status: 200 });
  const listeners = new Set<(text: string) => void>();
  const decoder = new TextDecoder();
  emulator.add_listener("serial0-output-byte", (byte: number) => {
    const text = decoder.decode(new Uint8Array([byte]), { stream: true });
    if (text) for (const l of listeners) l(text);
  });
  const console = new GuestConsole({
    onSerial: (l) => (listeners.add(l), () => listeners.delete(l)),
    sendSerial: (text) => emulator.serial0_send(text),
  });
  await emulator.run();
  try {
    await console.waitFor(PROMPT, BOOT_TIMEOUT_MS);
  } catch (error) {
    throw new Error(`Debian's kernel did not reach the shell: ${(error as Error).message}\n${console.tail(40)}`);
  }
  return { emulator, attached, console, disk, nic, diskBytes };
}

async function shutdown(b: Booted | undefined): Promise<void> {
  if (!b) return;
  b.attached.detach();
  await b.emulator.stop();
  await b.emulator.destroy();
}

describe.runIf(!skipped && !kernel)("Debian's kernel", () => {
  it("is present", () => {
    throw new Error(
      `no Debian kernel (x/boot/vmlinuz-* and x/lib/modules/*) under ${DIR}: fetch it with 'sudo bash guest/fetch-debian-kernel.sh ${DIR}' ` +
        "(DEBIAN_KERNEL_DIR names another such directory; DEBIAN_KERNEL_DIR=skip leaves this test out)",
    );
  });
});

describe.runIf(kernel)(`Debian's unmodified kernel (${kernel?.vmlinuz}) on our devices`, () => {
  let modules: Array<{ name: string; bytes: Uint8Array }>;
  let g: Booted;

  beforeAll(async () => {
    modules = loadOrder(moduleFiles(kernel!.modules), WANTED);
    g = await boot(modulesArchive(modules), true);
  }, BOOT_TIMEOUT_MS + 20_000);
  afterAll(() => shutdown(g));

  it("is Debian's kernel, without the cmdline option, and took our SSDT from the initrd", async () => {
    expect(modules.map((m) => m.name)).toEqual(expect.arrayContaining(["virtio", "virtio_ring", "virtio_mmio", "virtio_blk", "failover", "net_failover", "virtio_net"]));
    expect(await sh(g, "uname -r")).toMatch(/^\d+\.\d+\.\d+-\d+-686\n$/);
    expect(g.attached.acpiTableChecked).toBe(true);
    const dmesg = await sh(g, "dmesg");
    console.log(`Debian kernel's log:\n${dmesg.split("\n").filter((l) => /SSDT|LNRO|Linux version/.test(l)).join("\n")}`);
    expect(dmesg).toMatch(/SSDT ACPI table found in initrd \[kernel\/firmware\/acpi\/virtio-mmio\.aml\]\[0x[0-9a-f]+\]/);
    expect(dmesg).toMatch(/ACPI: SSDT 0x[0-9A-F]+ [0-9A-F]+ \(v02 V86VIO VIRTMMIO/);
    // The ACPI devices exist before any driver: Linux enumerated them from the table.
    expect((await sh(g, "ls /sys/bus/platform/devices/")).split(/\s+/)).toEqual(expect.arrayContaining(["LNRO0005:00", "LNRO0005:01"]));
    expect(await sh(g, "cat /sys/bus/platform/devices/LNRO0005:00/firmware_node/path /sys/bus/platform/devices/LNRO0005:01/firmware_node/hid")).toBe(
      "\\_SB_.VM00\nLNRO0005\n",
    );
  });

  it("Debian's virtio modules load and bind both devices on their IO-APIC lines, level-triggered as the SSDT says (fasteoi)", async () => {
    await sh(g, insmodAll(modules));
    const drivers = await sh(g, "ls /sys/bus/platform/drivers/virtio-mmio/");
    expect(drivers.split(/\s+/)).toEqual(expect.arrayContaining(["LNRO0005:00", "LNRO0005:01"]));
    expect(await sh(g, "cat /sys/bus/virtio/devices/virtio0/device /sys/bus/virtio/devices/virtio1/device")).toBe("0x0002\n0x0001\n");
    // No MSI in Debian's driver: bit 49 is not taken, nor bit 40 (RING_RESET: virtio's core
    // clears it for virtio_mmio, which has no ring-reset operations); the transports are on the line.
    for (const d of g.attached.devices) {
      const st = d.transport.state();
      expect(st.interruptMode).toBe("line");
      expect(st.negotiatedFeatures & FEATURE.MMIO_MSI).toBe(0n);
      expect(st.offeredFeatures & FEATURE.RING_RESET).toBe(FEATURE.RING_RESET);
      expect(st.negotiatedFeatures & FEATURE.RING_RESET).toBe(0n);
    }
    const interrupts = await sh(g, "cat /proc/interrupts");
    expect(interrupts).toMatch(/^\s*7:\s+\d+\s+IO-APIC\s+7-fasteoi\s+virtio0$/m);
    expect(interrupts).toMatch(/^\s*10:\s+\d+\s+IO-APIC\s+10-fasteoi\s+virtio1$/m);
  });

  it("round-trips 2 MiB each way through /dev/vda, checked against the disk's bytes on the host", async () => {
    const MiB = 1024 * 1024;
    // Host to guest: what the host put on the disk, read by the guest from the device.
    g.diskBytes.set(randomBytes(2 * MiB), 8 * MiB);
    const before = g.disk.counters.bytesRead;
    const read = await sh(g, "dd if=/dev/vda bs=64k skip=128 count=32 2>/dev/null | sha256sum");
    expect(read).toBe(`${sha256(g.diskBytes.subarray(8 * MiB, 10 * MiB))}  -\n`);
    expect(g.disk.counters.bytesRead - before).toBeGreaterThanOrEqual(2 * MiB);
    // Guest to host: the guest writes a pattern, the host finds it in the backend's bytes.
    const pattern = "debian kernel, acpi discovery\n";
    const expected = Buffer.from(pattern.repeat(Math.ceil((2 * MiB) / pattern.length))).subarray(0, 2 * MiB);
    await sh(g, `yes '${pattern.trimEnd()}' | head -c ${2 * MiB} | dd of=/dev/vda bs=64k conv=fsync 2>/dev/null`);
    expect(sha256(g.diskBytes.subarray(0, 2 * MiB))).toBe(sha256(expected));
    // And back through the device, past the page cache.
    await sh(g, "echo 3 > /proc/sys/vm/drop_caches");
    const reread = g.disk.counters.bytesRead;
    expect(await sh(g, "dd if=/dev/vda bs=64k count=32 2>/dev/null | sha256sum")).toBe(`${sha256(expected)}  -\n`);
    expect(g.disk.counters.bytesRead - reread).toBeGreaterThanOrEqual(2 * MiB);
    expect(g.disk.counters.errors).toBe(0);
    expect(g.attached.faults).toEqual([]);
  });

  it("the NIC gets an address by DHCP and pings v86's router", async () => {
    expect(await sh(g, "net-up eth0; sleep 2; ip -4 -o addr show dev eth0")).toMatch(/inet 192\.168\.86\.\d+\//);
    expect(await sh(g, "ping -c 2 -W 5 192.168.86.1")).toMatch(/2 packets received/);
    expect(g.nic.counters.txPackets).toBeGreaterThan(0);
    expect(g.nic.counters.rxPackets).toBeGreaterThan(0);
  });

  it("every completion came on the line: /proc/interrupts counts them, no MSI was sent", async () => {
    const counts = Object.fromEntries(
      [...(await sh(g, "cat /proc/interrupts")).matchAll(/^\s*(\d+):\s+(\d+)\s+IO-APIC\s+\S+\s+(virtio\d)$/gm)].map((m) => [m[3]!, Number(m[2])]),
    );
    console.log(
      `Debian kernel: IO-APIC 7 (virtio0, blk) ${counts.virtio0}, IO-APIC 10 (virtio1, net) ${counts.virtio1}; ` +
        `lines raised ${g.attached.devices.map((d) => d.line.counters.raised).join(", ")}`,
    );
    expect(counts.virtio0).toBeGreaterThan(100);
    expect(counts.virtio1).toBeGreaterThan(0);
    for (const d of g.attached.devices) expect(d.line.counters.raised).toBeGreaterThan(0);
    expect(g.attached.msiRouter.counters.messages).toBe(0);
    expect(g.attached.faults).toEqual([]);
  });
});

describe.runIf(kernel)("Debian's kernel without the SSDT", () => {
  it("finds no device from the virtio_mmio.device= arguments: the modules load and nothing binds", async () => {
    const modules = loadOrder(moduleFiles(kernel!.modules), WANTED);
    let b: Booted | undefined;
    try {
      b = await boot(modulesArchive(modules), false);
      expect(b.attached.cmdlineChecked).toBe(true);
      await sh(b, insmodAll(modules));
      expect(await sh(b, "ls /sys/bus/platform/devices/ | grep -c LNRO0005 || true")).toBe("0\n");
      expect(await sh(b, "ls /sys/bus/virtio/devices/ | wc -l")).toBe("0\n");
      expect(await sh(b, "[ -e /dev/vda ] && echo vda || echo none")).toBe("none\n");
      // The arguments were there; this virtio_mmio has no parameter to take them.
      expect(await sh(b, "cat /proc/cmdline")).toContain("virtio_mmio.device=0x200@0xd0000000:7");
      expect(await sh(b, "[ -e /sys/module/virtio_mmio/parameters/device ] && echo has || echo none")).toBe("none\n");
      for (const d of b.attached.devices) expect(d.transport.counters.reads.MagicValue).toBe(0);
    } finally {
      await shutdown(b);
    }
  }, BOOT_TIMEOUT_MS + 20_000);
});

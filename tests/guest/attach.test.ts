// attachVirtioMmio on a V86 this test builds itself with the `v86` package, as a user of the
// library would (no Machine): a virtio-blk and a virtio-net attached, our guest booted with the
// announcements virtioMmioCmdline gave, a disk round trip and a ping. Then the refusals, each on
// a real emulator.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { V86BusBackend } from "../../src/devices/net/v86-bus-backend.ts";
import { GuestConsole } from "../../src/machine/guest-console.ts";
import { attachVirtioMmio, type VirtioMmioAttachment } from "../../src/platform/attach.ts";
import { GUEST_BASE_CMDLINE, NO_IDE_CMDLINE } from "../../src/firmware/guest-cmdline.ts";
import { virtioMmioCmdline } from "../../src/firmware/mmio-placement.ts";
import { prependAcpiTable } from "../../src/firmware/acpi-initrd.ts";
import { virtioMmioAcpiTable } from "../../src/firmware/acpi-ssdt.ts";
import { PROMPT } from "../../src/node/boot.ts";
import { DEFAULT_GUEST } from "../../src/node/paths.ts";
import { diskRoundTrip } from "./disk-round-trip.ts";
import { stockV86, type Emulator } from "./stock-v86.ts";
import { sh } from "./shell.ts";

/** The serial console as GuestConsole reads it, straight from v86's events. */
function serialOf(emulator: Emulator) {
  const listeners = new Set<(text: string) => void>();
  const decoder = new TextDecoder();
  emulator.add_listener("serial0-output-byte", (byte: number) => {
    const text = decoder.decode(new Uint8Array([byte]), { stream: true });
    if (text) for (const l of listeners) l(text);
  });
  return {
    onSerial: (l: (text: string) => void) => (listeners.add(l), () => listeners.delete(l)),
    sendSerial: (text: string) => emulator.serial0_send(text),
  };
}

describe("attachVirtioMmio on a V86 made with the v86 package", () => {
  let emulator: Emulator;
  let attached: VirtioMmioAttachment;
  let guest: { console: GuestConsole };
  let disk: BlockDevice;
  let nic: NetDevice;

  beforeAll(async () => {
    const announce = virtioMmioCmdline({ count: 2 });
    emulator = await stockV86([GUEST_BASE_CMDLINE, NO_IDE_CMDLINE, announce].join(" "), {
      net_device: { type: "none", relay_url: "fetch" },
    });
    disk = new BlockDevice({ backend: new MemoryBackend(new Uint8Array(readFileSync(DEFAULT_GUEST.disk))), name: "blk0" });
    const backend = new V86BusBackend();
    nic = new NetDevice({ backend, name: "net0" });
    attached = attachVirtioMmio(emulator, { devices: [disk, nic], msi: {} });
    backend.attach(attached.emulatorBus);
    // No outside network: the fetch adapter's HTTP requests are answered here.
    emulator.network_adapter!.fetch = async () => new Response("hello\n", { status: 200 });
    guest = { console: new GuestConsole(serialOf(emulator)) };
    await emulator.run();
    await guest.console.waitFor(PROMPT, 90_000);
  }, 120_000);
  afterAll(async () => {
    attached?.detach();
    await emulator?.stop();
    await emulator?.destroy();
  });

  it("places the devices where virtioMmioCmdline said and found them announced", () => {
    expect(attached.cmdline).toBe("virtio_mmio.device=0x200@0xd0000000:5 virtio_mmio.device=0x200@0xd0000200:10");
    expect(attached.cmdlineChecked).toBe(true);
    expect(attached.devices.map((d) => [d.address, d.irq])).toEqual([
      [0xd0000000, 5],
      [0xd0000200, 10],
    ]);
  });

  it("round-trips 2 MiB through the disk, completions signalled by MSI", async () => {
    await diskRoundTrip(guest, disk);
    expect(attached.msiRouter.counters.delivered).toBeGreaterThan(0);
    expect(attached.devices[0]!.line.counters.raised).toBe(0);
    expect(attached.faults).toEqual([]);
  });

  it("pings the fetch adapter's router through the NIC", async () => {
    expect(await sh(guest, "ping -c 2 -W 5 192.168.86.1")).toMatch(/2 packets received/);
    expect(nic.counters.txPackets).toBeGreaterThan(0);
    expect(attached.faults).toEqual([]);
  });
});

describe("attachVirtioMmio refuses what cannot work, before anything is attached", () => {
  const devices = () => [new BlockDevice({ backend: new MemoryBackend(new Uint8Array(1 << 20)), name: "blk0" })];
  const refused = async (cmdline: string, extra: Record<string, unknown>, attach: (e: Emulator) => unknown) => {
    const emulator = await stockV86(cmdline, extra);
    try {
      attach(emulator);
      return "";
    } catch (error) {
      return (error as Error).message;
    } finally {
      await emulator.destroy();
    }
  };

  it("MSI on a V86 without ACPI, and an IRQ its virtio-net PCI device drives", async () => {
    const message = await refused(virtioMmioCmdline({ count: 1, irqs: [10] }), { acpi: false, net_device: { type: "virtio" } }, (e) =>
      attachVirtioMmio(e, { devices: devices(), msi: {}, irqs: [10] }),
    );
    expect(message).toContain("MSI needs v86's local APIC, which exists only with ACPI: create the V86 with acpi: true, or attach with msi: false");
    expect(message).toContain("IRQ 10 is taken by v86's virtio_net (PCI links)");
  });

  it("a block over the emulator's RAM, and a cmdline without the announcements", async () => {
    const overRam = await refused(virtioMmioCmdline({ count: 1, base: 0x4000000 }), {}, (e) =>
      attachVirtioMmio(e, { devices: devices(), msi: {}, base: 0x4000000 }),
    );
    expect(overRam).toContain("base 0x4000000: the 128 KiB block overlaps guest RAM (0x0-0x7ffffff)");
    const unannounced = await refused(GUEST_BASE_CMDLINE, {}, (e) => attachVirtioMmio(e, { devices: devices(), msi: {} }));
    expect(unannounced).toContain("the emulator's kernel command line lacks virtio_mmio.device=0x200@0xd0000000:5");
  });

  it("discovery acpi: an initrd without the SSDT, and a V86 without ACPI", async () => {
    const plain = await refused(GUEST_BASE_CMDLINE, {}, (e) => attachVirtioMmio(e, { devices: devices(), msi: false, discovery: "acpi" }));
    expect(plain).toContain(
      "the emulator's initrd does not begin with this placement's SSDT: pass prependAcpiTable(virtioMmioAcpiTable(...), yourInitrd) as the V86's initrd",
    );
    // The table of another placement is not this one's.
    const other = prependAcpiTable(virtioMmioAcpiTable({ count: 1, irqs: [7] }), new Uint8Array(readFileSync(DEFAULT_GUEST.initrd)));
    const wrong = await refused(GUEST_BASE_CMDLINE, { initrd: { buffer: other.buffer } }, (e) =>
      attachVirtioMmio(e, { devices: devices(), msi: false, discovery: "acpi" }),
    );
    expect(wrong).toContain("does not begin with this placement's SSDT");
    const noAcpi = await refused(GUEST_BASE_CMDLINE, { acpi: false }, (e) => attachVirtioMmio(e, { devices: devices(), msi: false, discovery: "acpi" }));
    expect(noAcpi).toContain("discovery acpi needs v86's ACPI tables and IO-APIC: create the V86 with acpi: true");
  });

  it("discovery acpi accepts the initrd prependAcpiTable made, without the arguments on the command line", async () => {
    const initrd = prependAcpiTable(virtioMmioAcpiTable({ count: 1 }), new Uint8Array(readFileSync(DEFAULT_GUEST.initrd)));
    const emulator = await stockV86(GUEST_BASE_CMDLINE, { initrd: { buffer: initrd.buffer } });
    try {
      const attached = attachVirtioMmio(emulator, { devices: devices(), msi: false, discovery: "acpi" });
      expect(attached.acpiTableChecked).toBe(true);
      expect(attached.cmdlineChecked).toBe(false);
      expect([...attached.acpiTable()]).toEqual([...virtioMmioAcpiTable({ count: 1 })]);
      attached.detach();
    } finally {
      await emulator.destroy();
    }
  });

  it("an emulator that has already run", async () => {
    const emulator = await stockV86(virtioMmioCmdline({ count: 1 }));
    try {
      await emulator.run();
      // Until the guest has run some instructions (its own progress, not a host delay).
      const cpu = (emulator as unknown as { v86: { cpu: { instruction_counter: Uint32Array } } }).v86.cpu;
      for (let i = 0; i < 6000 && (cpu.instruction_counter[0]! >>> 0) < 1_000_000; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await emulator.stop();
      expect(() => attachVirtioMmio(emulator, { devices: devices(), msi: {} })).toThrow(/has already run \d+ instructions; attach before its first one/);
    } finally {
      await emulator.destroy();
    }
  });
});

describe("detach", () => {
  it("empties the windows and gives v86 its timer hook back", async () => {
    const emulator = await stockV86(virtioMmioCmdline({ count: 1 }));
    try {
      const cpu = (emulator as unknown as { v86: { cpu: { read32s(a: number): number; run_hardware_timers: unknown } } }).v86.cpu;
      const own = cpu.run_hardware_timers;
      const attached = attachVirtioMmio(emulator, { devices: [new BlockDevice({ backend: new MemoryBackend(new Uint8Array(1 << 20)) })], msi: {} });
      // The magic value "virt" through v86's own MMIO dispatch, as the guest's driver reads it.
      expect(cpu.read32s(0xd0000000)).toBe(0x74726976);
      expect(cpu.run_hardware_timers).not.toBe(own);
      attached.detach();
      expect(cpu.read32s(0xd0000000)).toBe(-1);
      expect(attached.mmio.counters.unclaimed).toBe(1);
      expect(cpu.run_hardware_timers).toBe(own);
    } finally {
      await emulator.destroy();
    }
  });
});

// How the patched virtio_mmio driver chooses between the 2020 layout's table and the line (guest/README.md,
// docs/virtio-mmio-msi.md "Clarifications"), with a disk (virtio0) and a NIC (virtio1, three
// queues: input, output and the polled control queue) on every machine:
// - a fixed mapping with fewer vectors than queues + 1 (a device the spec forbids; the driver
//   must not try MAP commands there, which such a device ignores): the line;
// - the local APIC off (`nolapic`): the line, and bit 40 not even accepted;
// - queues without a callback (virtio-net's control queue) get no vector;
// - the dynamic mapping: one vector per queue where the table is big enough, else one for all.
// Every case keeps data round-tripping on the disk and over the network. The devices offer the
// 2020 layout (msiLayout "2020"); tests/guest/msi-per-queue.test.ts has the default v3 layout.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import type { NetDevice } from "../../src/devices/net/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { createDevices } from "../../src/node/devices.ts";
import type { AttachedDevice, MachineMsiOptions } from "../../src/machine/machine.ts";
import { NO_VECTOR } from "../../src/virtio/constants.ts";
import { diskRoundTrip } from "./disk-round-trip.ts";
import { testNetwork } from "./network.ts";
import { countOf, interrupts, ofDevice } from "./proc-interrupts.ts";

/** The 2020 table's irq chip in /proc/interrupts (the series' NOT FOR UPSTREAM patch), one per device. */
const TABLE_CHIP = /^virtio-mmio-2020-virtio-mmio\.\d+$/;
import { sh } from "./shell.ts";

/** 256 KiB served by the fetch adapter's HTTP, checked by its sha256 in the guest. */
const BLOB = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
const BLOB_SHA256 = createHash("sha256").update(BLOB).digest("hex");

interface Rig {
  guest: BootedGuest;
  disk: BlockDevice;
  nic: NetDevice;
  blk: () => AttachedDevice;
  net: () => AttachedDevice;
}

async function boot(msiOptions: Omit<MachineMsiOptions, "layout">, append?: string): Promise<Rig> {
  const disk = (await createDevices({}))[0] as BlockDevice;
  const network = testNetwork("fetch", {
    answer: async (url) =>
      url.endsWith("/blob")
        ? new Response(BLOB, { status: 200, headers: { "content-type": "application/octet-stream" } })
        : new Response("not here\n", { status: 404 }),
  });
  const guest = await bootGuest({
    devices: [disk, network.device],
    msiLayout: "2020",
    msiOptions,
    ...(append ? { append } : {}),
    v86Options: network.v86Options,
    onMachine: network.onMachine,
  });
  const attached = (i: number) => () => guest.machine.devices[i]!;
  return { guest, disk, nic: network.device, blk: attached(0), net: attached(1) };
}

const dmesg = (guest: BootedGuest, pattern: string) => sh(guest, `dmesg | grep -E '${pattern}' || true`);

/** The device stayed on its line: no MSI sent, MAP never tried, no event without a vector. */
async function expectLine(r: Rig, dev: AttachedDevice, name: string): Promise<void> {
  const t = dev.transport;
  const msi = t.msi!;
  expect(t.state().interruptMode).toBe("line");
  expect(msi.enabled).toBe(false);
  expect(msi.counters.vectors.map((v) => v.sent)).toEqual(msi.counters.vectors.map(() => 0));
  expect(msi.counters.mapInFixedMode).toBe(0);
  expect(msi.counters.unmapped).toBe(0);
  expect(dev.line.counters.raised).toBeGreaterThan(0);
  const own = ofDevice(await interrupts(r.guest), name);
  expect(own.map((l) => l.name)).toEqual([name]);
  expect(own[0]!.count).toBeGreaterThan(0);
  expect(own[0]!.chip).not.toMatch(/virtio-mmio-/);
}

async function netRoundTrip(r: Rig): Promise<void> {
  expect(await sh(r.guest, "cat /tmp/udhcpc.eth0.log")).toMatch(/lease of 192\.168\.86\.100 obtained/);
  expect(await sh(r.guest, "ping -c 2 -W 5 192.168.86.1")).toMatch(/2 packets received/);
  const sum = await sh(r.guest, "wget -q -O - http://192.168.86.1/blob | sha256sum", 120_000);
  expect(sum).toBe(`${BLOB_SHA256}  -\n`);
  expect(r.nic.counters).toMatchObject({ internalErrors: 0, shortCopies: 0 });
}

function noErrors(r: Rig): void {
  expect(r.disk.counters.errors).toBe(0);
  expect(r.guest.machine.faults).toEqual([]);
  expect(r.guest.machine.msiRouter.counters.dropped).toBe(0);
}

describe("fixed mapping with 1 vector per device: both devices use their line", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({ vectors: 1, allowShortFixedTable: true });
  });
  afterAll(() => r?.guest.shutdown());

  it("says why, and lists only the IO-APIC lines for virtio0 and virtio1", async () => {
    const log = await dmesg(r.guest, "virtio[01]: MSI");
    console.log(`fixed, 1 vector:\n${log}`);
    expect(log).toMatch(/virtio0: MSI \(2020 layout\): 1 vectors, fixed mapping, using the interrupt line/);
    expect(log).toMatch(/virtio1: MSI \(2020 layout\): 1 vectors, fixed mapping, using the interrupt line/);
    const irqs = await interrupts(r.guest);
    expect(irqs.filter((l) => /virtio-mmio-/.test(l.chip))).toEqual([]);
    expect(irqs.find((l) => l.name === "virtio0")?.chip).toBe("IO-APIC");
    expect(irqs.find((l) => l.name === "virtio1")?.chip).toBe("IO-APIC");
  });

  it("the disk round-trips 2 MiB on the line; the device sent no MSI and saw no MAP command", async () => {
    await diskRoundTrip(r.guest, r.disk);
    await expectLine(r, r.blk(), "virtio0");
    noErrors(r);
  });

  it("the network works on the line (DHCP, ping, 256 KiB over HTTP)", async () => {
    await netRoundTrip(r);
    await expectLine(r, r.net(), "virtio1");
    expect(r.guest.machine.msiRouter.counters.messages).toBe(0);
  });
});

describe("fixed mapping with 2 vectors: MSI for the disk (needs 2), the line for the NIC (needs 4)", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({ vectors: 2, allowShortFixedTable: true });
  });
  afterAll(() => r?.guest.shutdown());

  it("the disk has virtio0-config and virtio0-req.0 on MSI and round-trips", async () => {
    const before = await interrupts(r.guest);
    expect(ofDevice(before, "virtio0").map((l) => [l.name, TABLE_CHIP.test(l.chip)])).toEqual([
      ["virtio0-config", true],
      ["virtio0-req.0", true],
    ]);
    await diskRoundTrip(r.guest, r.disk);
    expect(countOf(await interrupts(r.guest), "virtio0-req.0")).toBeGreaterThan(countOf(before, "virtio0-req.0"));
    const t = r.blk().transport;
    expect(t.state().msi).toMatchObject({ enabled: true, sharing: false, configVector: 0, queueVectors: [1] });
    expect(r.blk().line.counters.raised).toBe(0);
    noErrors(r);
  });

  it("the NIC says why, stays on its line and the network works", async () => {
    expect(await dmesg(r.guest, "virtio1: MSI")).toMatch(/virtio1: MSI \(2020 layout\): 2 vectors, fixed mapping, using the interrupt line/);
    await netRoundTrip(r);
    await expectLine(r, r.net(), "virtio1");
  });
});

describe("nolapic: the driver does not accept VIRTIO_F_MMIO_MSI and uses the line", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({}, "nolapic");
  });
  afterAll(() => r?.guest.shutdown());

  it("the kernel runs on the 8259 PIC; both devices say why and did not negotiate bit 40", async () => {
    const log = await dmesg(r.guest, "APIC|virtio[01]: MSI");
    console.log(`nolapic:\n${log}`);
    expect(log).toMatch(/virtio0: MSI \(2020 layout\): not used \(no MSI parent domain\), using the interrupt line/);
    expect(log).toMatch(/virtio1: MSI \(2020 layout\): not used \(no MSI parent domain\), using the interrupt line/);
    for (const dev of ["virtio0", "virtio1"]) {
      const features = (await sh(r.guest, `cat /sys/bus/virtio/devices/${dev}/features`)).trim();
      expect(features[40], dev).toBe("0");
    }
    const irqs = await interrupts(r.guest);
    expect(irqs.filter((l) => /virtio-mmio-|IO-APIC/.test(l.chip))).toEqual([]);
    expect(irqs.find((l) => l.name === "virtio0")?.chip).toBe("XT-PIC");
  });

  it("the disk round-trips 2 MiB and the network works, on the lines", async () => {
    await diskRoundTrip(r.guest, r.disk);
    await netRoundTrip(r);
    await expectLine(r, r.blk(), "virtio0");
    await expectLine(r, r.net(), "virtio1");
    expect(r.guest.machine.msiRouter.counters.messages).toBe(0);
    noErrors(r);
  });
});

describe("fixed mapping, full table: the NIC's control queue (no callback) gets no vector", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({});
  });
  afterAll(() => r?.guest.shutdown());

  it("virtio1 has config, input.0 and output.0 on MSI and nothing for control; vector 3 stays unconfigured", async () => {
    const names = ofDevice(await interrupts(r.guest), "virtio1").map((l) => l.name);
    expect(names).toEqual(["virtio1-config", "virtio1-input.0", "virtio1-output.0"]);
    await netRoundTrip(r);
    // The control queue works (it is polled): the driver turned promiscuous mode off through it.
    expect(r.nic.counters.ctrlPromisc).toBeGreaterThanOrEqual(1);
    const msi = r.net().transport.msi!;
    expect(msi.state()).toMatchObject({ enabled: true, queueVectors: [1, 2, 3] });
    expect(msi.state().vectors[3]).toMatchObject({ addrLow: 0, data: 0 });
    const v3 = msi.counters.vectors[3]!;
    console.log(`control queue's vector 3: sent ${v3.sent}, delivered ${v3.delivered}, dropped ${v3.dropped}`);
    expect(v3.sent).toBe(0);
    expect(msi.counters.vectors[1]!.delivered).toBeGreaterThan(0);
    expect(msi.counters.vectors[2]!.delivered).toBeGreaterThan(0);
    noErrors(r);
  });
});

describe("dynamic mapping with 3 vectors: one per queue for the disk, one for all queues of the NIC", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({ sharing: true, vectors: 3 });
  });
  afterAll(() => r?.guest.shutdown());

  it("maps the disk's queue to its own vector and the NIC's to one shared vector, control to none", async () => {
    const irqs = await interrupts(r.guest);
    expect(ofDevice(irqs, "virtio0").map((l) => l.name)).toEqual(["virtio0-config", "virtio0-req.0"]);
    expect(ofDevice(irqs, "virtio1").map((l) => l.name)).toEqual(["virtio1-config", "virtio1-virtqueues"]);
    expect(irqs.filter((l) => /^virtio/.test(l.name)).every((l) => TABLE_CHIP.test(l.chip))).toBe(true);
    expect(r.blk().transport.state().msi).toMatchObject({ enabled: true, sharing: true, configVector: 0, queueVectors: [1] });
    expect(r.net().transport.state().msi).toMatchObject({ enabled: true, sharing: true, configVector: 0, queueVectors: [1, 1, NO_VECTOR] });
  });

  it("the disk round-trips 2 MiB and the network works, all on MSI", async () => {
    const before = await interrupts(r.guest);
    await diskRoundTrip(r.guest, r.disk);
    await netRoundTrip(r);
    const after = await interrupts(r.guest);
    expect(countOf(after, "virtio0-req.0")).toBeGreaterThan(countOf(before, "virtio0-req.0"));
    expect(countOf(after, "virtio1-virtqueues")).toBeGreaterThan(countOf(before, "virtio1-virtqueues"));
    for (const dev of [r.blk(), r.net()]) {
      expect(dev.line.counters.raised).toBe(0);
      expect(dev.transport.counters.reads.InterruptStatus).toBe(0);
    }
    noErrors(r);
  });
});

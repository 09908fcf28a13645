// The v3 MSI layout (docs/virtio-mmio-msi-v3.md), the devices' default, under our patched
// virtio_mmio driver (guest/patches/, the series' per-virtqueue MSI and ring reset), with a disk
// (virtio0, one queue) and a NIC (virtio1: input, output and the polled control queue) on every
// machine:
// - the default device (MsiVectorHint = 1 + queues): VIRTIO_F_MMIO_MSI (49) and RING_RESET (40)
//   negotiated; one interrupt per queue with a callback plus one for configuration changes; a
//   target masked from the host holds its completion until it is unmasked; `ethtool -G`
//   (ringparam) resizes the NIC's rings through QueueReset with traffic before and after;
// - a device asking for one message (MsiVectorHint 1): configuration changes apart, one shared
//   interrupt for the queues;
// - a device whose MSI_ENABLE does not take: the driver says so and uses the line;
// - virtio_mmio.msi=0: the line, no MSI register touched, RING_RESET still negotiated.
// Every case round-trips data on the disk past the page cache.
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import type { NetDevice } from "../../src/devices/net/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import type { AttachedDevice, Machine, MachineMsiOptions } from "../../src/machine/machine.ts";
import { createDevices } from "../../src/node/devices.ts";
import { REG } from "../../src/virtio/constants.ts";
import type { MmioTransport } from "../../src/virtio/mmio-transport.ts";
import { diskRoundTrip } from "./disk-round-trip.ts";
import { hostMaskQueue } from "./host-mask.ts";
import { testNetwork } from "./network.ts";
import { countOf, interrupts, ofDevice, type IrqLine } from "./proc-interrupts.ts";
import { guestRuns } from "./guest-progress.ts";
import { sh } from "./shell.ts";

/** The irq chip of the driver's device MSI domain, as /proc/interrupts names it (one per device). */
const V3_CHIP = /^virtio-mmio-virtio-mmio\.\d+$/;

/** 256 KiB served by the fetch adapter's HTTP, checked by its sha256 in the guest. */
const BLOB = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 13 + (i >> 8)) & 0xff));
const BLOB_SHA256 = createHash("sha256").update(BLOB).digest("hex");

/** Reads the whole disk past the page cache (8 MiB default disk: 128 requests of 64 KiB). */
const DD = "echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vda of=/dev/null bs=64k 2>&1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Rig {
  guest: BootedGuest;
  disk: BlockDevice;
  nic: NetDevice | null;
  blk: () => AttachedDevice;
  net: () => AttachedDevice;
}

interface BootExtras {
  append?: string;
  /** Attach the NIC (default true). */
  nic?: boolean;
  /** Runs once the devices are attached, before the guest boots. */
  onMachine?: (machine: Machine) => void;
}

async function boot(msiOptions: Omit<MachineMsiOptions, "layout">, o: BootExtras = {}): Promise<Rig> {
  const disk = (await createDevices({}))[0] as BlockDevice;
  const network =
    o.nic === false
      ? null
      : testNetwork("fetch", {
          answer: async (url) =>
            url.endsWith("/blob")
              ? new Response(BLOB, { status: 200, headers: { "content-type": "application/octet-stream" } })
              : new Response("not here\n", { status: 404 }),
        });
  const guest = await bootGuest({
    devices: network ? [disk, network.device] : [disk],
    msiLayout: "v3",
    msiOptions,
    ...(o.append ? { append: o.append } : {}),
    ...(network ? { v86Options: network.v86Options } : {}),
    onMachine: (machine) => {
      network?.onMachine(machine);
      o.onMachine?.(machine);
    },
  });
  const attached = (i: number) => () => guest.machine.devices[i]!;
  return { guest, disk, nic: network?.device ?? null, blk: attached(0), net: attached(1) };
}

const dmesg = (guest: BootedGuest, pattern: string) => sh(guest, `dmesg | grep -E '${pattern}' || true`);

const names = (irqs: readonly IrqLine[], dev: string) => ofDevice(irqs, dev).map((l) => l.name);

/** Every interrupt of `dev` comes from the v3 chip. */
function onV3Chip(irqs: readonly IrqLine[], dev: string): void {
  const rows = ofDevice(irqs, dev);
  expect(rows.length).toBeGreaterThan(0);
  for (const l of rows) expect(l.chip, `${l.name}'s chip`).toMatch(V3_CHIP);
}

/** Feature bit `bit` as the driver negotiated it (sysfs lists bits 0.. as '0'/'1'). */
async function negotiated(guest: BootedGuest, dev: string, bit: number): Promise<boolean> {
  const bits = (await sh(guest, `cat /sys/bus/virtio/devices/${dev}/features`)).trim();
  return bits[bit] === "1";
}

async function netRoundTrip(r: Rig): Promise<void> {
  expect(await sh(r.guest, "cat /tmp/udhcpc.eth0.log")).toMatch(/lease of 192\.168\.86\.100 obtained/);
  expect(await sh(r.guest, "ping -c 2 -W 5 192.168.86.1")).toMatch(/2 packets received/);
  expect(await sh(r.guest, "wget -q -O - http://192.168.86.1/blob | sha256sum", 120_000)).toBe(`${BLOB_SHA256}  -\n`);
  expect(r.nic!.counters).toMatchObject({ internalErrors: 0, shortCopies: 0 });
}

/** Link down then up from the host: a configuration interrupt each time, the carrier follows. */
async function linkToggles(r: Rig): Promise<void> {
  for (const up of [false, true]) {
    r.nic!.setLink(up);
    await sh(r.guest, "sleep 1");
    expect(await sh(r.guest, "cat /sys/class/net/eth0/carrier")).toBe(up ? "1\n" : "0\n");
  }
}

/** The device never used its line, InterruptStatus or InterruptACK; no message went astray. */
function noLine(r: Rig, devs: AttachedDevice[]): void {
  for (const dev of devs) {
    expect(dev.line.counters.raised).toBe(0);
    expect(dev.transport.counters.reads.InterruptStatus).toBe(0);
    expect(dev.transport.counters.writes.InterruptACK).toBe(0);
  }
  expect(r.guest.machine.msiRouter.counters.dropped).toBe(0);
  expect(r.guest.machine.faults).toEqual([]);
  expect(r.disk.counters.errors).toBe(0);
}

/** The v3 registers were never read or written (R3: a driver that did not take MSI; msi=0). */
function v3Untouched(t: MmioTransport): void {
  const regs = [
    "QueueMsiAddrLow", "QueueMsiAddrHigh", "QueueMsiData", "QueueMsiControl",
    "ConfigMsiAddrLow", "ConfigMsiAddrHigh", "ConfigMsiData", "ConfigMsiControl", "MsiControl",
  ] as const;
  for (const reg of regs) expect(t.counters.writes[reg], reg).toBe(0);
  for (const reg of [...regs, "MsiVectorHint"] as const) expect(t.counters.reads[reg], reg).toBe(0);
  expect(t.msiPerQueue!.state().targets.every((x) => !x.enabled && x.addrLow === 0)).toBe(true);
}

/**
 * MASK on the disk's queue target from the host, as a driver would (QueueSel, then
 * QueueMsiControl): the guest's next read completes on the device, but its event waits in the
 * target's pending bit and the guest's dd cannot finish while the guest runs on (at least 5 M
 * guest instructions, its timer ticks while it waits: a 4 KiB read takes about 10 k); unmasking
 * sends it and dd completes. `irq` is the guest interrupt that carries the queue.
 */
async function maskHoldsCompletion(r: Rig, irq: string): Promise<void> {
  const t = r.blk().transport;
  const pq = t.msiPerQueue!;
  const target = 1; // queue 0's slot (0 is configuration changes)
  const tc = pq.counters.targets[target]!;
  await sh(r.guest, "echo 3 > /proc/sys/vm/drop_caches");
  const irqsBefore = countOf(await interrupts(r.guest), irq);

  hostMaskQueue(t, 0, true);
  let unmasked = false;
  const unmask = () => {
    if (!unmasked) hostMaskQueue(t, 0, false);
    unmasked = true;
  };
  try {
    expect(pq.state().targets[target]).toMatchObject({ enabled: true, masked: true, pending: false });
    const heldBefore = tc.pendingWhileMasked;
    const deliveredBefore = tc.delivered;
    let settled = false;
    const dd = r.guest.console.exec("dd if=/dev/vda of=/dev/null bs=64k count=16 2>&1", 30_000).finally(() => {
      settled = true;
    });
    const deadline = Date.now() + 30_000;
    while (tc.pendingWhileMasked === heldBefore && Date.now() < deadline) await sleep(20);
    expect(tc.pendingWhileMasked).toBeGreaterThan(heldBefore);
    // The guest keeps running: without the interrupt its dd cannot finish.
    const ran = await guestRuns(r.guest.machine, 5e6, () => !settled);
    expect(settled).toBe(false);
    expect(pq.state().targets[target]).toMatchObject({ masked: true, pending: true });
    expect(tc.delivered).toBe(deliveredBefore);
    const held = tc.pendingWhileMasked - heldBefore;

    unmask();
    const res = await dd;
    expect(res.status).toBe(0);
    expect(res.output).toMatch(/16\+0 records in/);
    expect(pq.state().targets[target]).toMatchObject({ masked: false, pending: false });
    expect(tc.delivered).toBeGreaterThan(deliveredBefore);
    const irqsAfter = countOf(await interrupts(r.guest), irq);
    expect(irqsAfter).toBeGreaterThan(irqsBefore);
    console.log(
      `v3 mask (${irq}): ${held} event(s) held while the target was masked, ${(ran / 1e6).toFixed(0)} M guest instructions run; after the unmask dd finished, ` +
        `guest ${irq} +${irqsAfter - irqsBefore}, target deliveries +${tc.delivered - deliveredBefore}`,
    );
  } finally {
    unmask();
  }
}

describe("v3 layout, the default device: an interrupt per queue", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({});
  });
  afterAll(() => r?.guest.shutdown());

  it("negotiates VIRTIO_F_MMIO_MSI (49) and RING_RESET (40), and says which mode it took", async () => {
    for (const dev of ["virtio0", "virtio1"]) {
      expect(await negotiated(r.guest, dev, 49), `${dev} bit 49`).toBe(true);
      expect(await negotiated(r.guest, dev, 40), `${dev} bit 40`).toBe(true);
    }
    const log = await dmesg(r.guest, "virtio[01]: MSI");
    expect(log).toContain("virtio0: MSI: one message per virtqueue (2 vectors)");
    expect(log).toContain("virtio1: MSI: one message per virtqueue (3 vectors)");
    for (const dev of [r.blk(), r.net()]) expect(dev.transport.state()).toMatchObject({ msiLayout: "v3", ringReset: true });
  });

  it("lists config and each queue with a callback on the v3 chip; the control queue's target stays disabled", async () => {
    const irqs = await interrupts(r.guest);
    expect(names(irqs, "virtio0")).toEqual(["virtio0-config", "virtio0-req.0"]);
    expect(names(irqs, "virtio1")).toEqual(["virtio1-config", "virtio1-input.0", "virtio1-output.0"]);
    onV3Chip(irqs, "virtio0");
    onV3Chip(irqs, "virtio1");
    expect(irqs.filter((l) => l.chip === "IO-APIC" && /^virtio/.test(l.name))).toEqual([]);
    for (const dev of [r.blk(), r.net()]) {
      const st = dev.transport.state();
      expect(st).toMatchObject({ interruptMode: "msi", msiMode: "per-queue" });
      expect(st.msi).toBeNull();
      expect(st.msiPerQueue!.enabled).toBe(true);
    }
    // Every target in use has its own message (distinct vectors); the NIC's control queue
    // (target 3, polled, no callback) was never enabled nor given an address.
    const targets = r.net().transport.state().msiPerQueue!.targets;
    expect(targets.map((x) => x.enabled)).toEqual([true, true, true, false]);
    expect(targets[3]).toMatchObject({ addrLow: 0, data: 0 });
    expect(new Set(targets.slice(0, 3).map((x) => x.data & 0xff)).size).toBe(3);
    expect(targets.slice(0, 3).every((x) => x.addrLow >>> 20 === 0xfee && !x.masked)).toBe(true);
    expect(r.net().transport.msiPerQueue!.counters.targets[3]!.sent).toBe(0);
  });

  it("disk I/O raises virtio0-req.0 only, through queue 0's target; data round-trips past the page cache", async () => {
    const pq = r.blk().transport.msiPerQueue!;
    const before = await interrupts(r.guest);
    const sentBefore = pq.counters.targets.map((x) => x.delivered);
    expect(await sh(r.guest, DD)).toMatch(/128\+0 records in/);
    await diskRoundTrip(r.guest, r.disk);
    const after = await interrupts(r.guest);
    const rise = countOf(after, "virtio0-req.0") - countOf(before, "virtio0-req.0");
    const sent = pq.counters.targets.map((x, i) => x.delivered - sentBefore[i]!);
    console.log(`v3 disk: guest virtio0-req.0 +${rise}, device target deliveries +[${sent.join(", ")}]`);
    expect(rise).toBeGreaterThan(0);
    expect(sent[1]).toBeGreaterThanOrEqual(rise); // two messages may merge in the APIC's IRR
    expect(sent[0]).toBe(0);
    expect(countOf(after, "virtio0-config")).toBe(countOf(before, "virtio0-config"));
    noLine(r, [r.blk()]);
  });

  it("network I/O raises virtio1-input.0 and virtio1-output.0 (DHCP, ping, 256 KiB over HTTP)", async () => {
    const before = await interrupts(r.guest);
    await netRoundTrip(r);
    const after = await interrupts(r.guest);
    const rx = countOf(after, "virtio1-input.0") - countOf(before, "virtio1-input.0");
    const tx = countOf(after, "virtio1-output.0") - countOf(before, "virtio1-output.0");
    console.log(`v3 network: guest virtio1-input.0 +${rx}, virtio1-output.0 +${tx}`);
    expect(rx).toBeGreaterThan(0);
    expect(tx).toBeGreaterThan(0);
    // The control queue works (it is polled): the driver turned promiscuous mode off through it.
    expect(r.nic!.counters.ctrlPromisc).toBeGreaterThanOrEqual(1);
    noLine(r, [r.blk(), r.net()]);
  });

  it("link down/up reaches the driver on virtio1-config", async () => {
    const before = countOf(await interrupts(r.guest), "virtio1-config");
    await linkToggles(r);
    expect(countOf(await interrupts(r.guest), "virtio1-config") - before).toBeGreaterThanOrEqual(2);
  });

  it("a target masked from the host holds the completion pending and sends it when unmasked", async () => {
    await maskHoldsCompletion(r, "virtio0-req.0");
    noLine(r, [r.blk()]);
  });

  it("resizes the NIC's rings live (ethtool -G: QueueReset), with traffic before and after on the queues' MSIs", async () => {
    const ring = (text: string) => {
      const m = /rx (\d+)\/(\d+) tx (\d+)\/(\d+)/.exec(text);
      if (!m) throw new Error(`ringparam printed: ${text}`);
      return { rx: Number(m[1]), rxMax: Number(m[2]), tx: Number(m[3]), txMax: Number(m[4]) };
    };
    const t = r.net().transport;
    const before = ring(await sh(r.guest, "ringparam eth0"));
    const resetsBefore = t.counters.queueResets;
    await netRoundTrip(r);
    const resized = ring(await sh(r.guest, `ringparam eth0 ${before.rxMax / 4} ${before.txMax / 4}`));
    expect(resized).toEqual({ ...before, rx: before.rxMax / 4, tx: before.txMax / 4 });
    // Both data queues were reset and set up again at the new size, each with its target rewritten.
    expect(t.counters.queueResets - resetsBefore).toBeGreaterThanOrEqual(2);
    const st = t.state();
    expect(st.queues[0]!.size).toBe(before.rxMax / 4);
    expect(st.queues[1]!.size).toBe(before.txMax / 4);
    expect(st.msiPerQueue!.targets.slice(0, 3).map((x) => ({ enabled: x.enabled, masked: x.masked, fee: x.addrLow >>> 20 === 0xfee }))).toEqual(
      Array(3).fill({ enabled: true, masked: false, fee: true }),
    );
    const irqsBefore = await interrupts(r.guest);
    await netRoundTrip(r);
    const irqsAfter = await interrupts(r.guest);
    const rx = countOf(irqsAfter, "virtio1-input.0") - countOf(irqsBefore, "virtio1-input.0");
    const tx = countOf(irqsAfter, "virtio1-output.0") - countOf(irqsBefore, "virtio1-output.0");
    console.log(`v3 ring resize: rx ${before.rx} -> ${resized.rx}, tx ${before.tx} -> ${resized.tx}; ${t.counters.queueResets - resetsBefore} queue resets; after: input.0 +${rx}, output.0 +${tx}`);
    expect(rx).toBeGreaterThan(0);
    expect(tx).toBeGreaterThan(0);
    // And back to the full size.
    expect(ring(await sh(r.guest, `ringparam eth0 ${before.rxMax} ${before.txMax}`))).toEqual(before);
    await netRoundTrip(r);
    expect(t.counters.errors).toMatchObject({ badQueueReset: 0 });
    noLine(r, [r.blk(), r.net()]);
  });

  it("logged no virtio or block error", async () => {
    expect(await dmesg(r.guest, "I/O error|blk_update|virtio.*(error|fail)|MSI: (MsiControl|ConfigMsiControl|vector hint)|EXT2-fs error")).toBe("");
  });
});

describe("v3 layout, a device asking for one message (MsiVectorHint 1): config apart, one shared queue interrupt", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({ hint: 1 });
  });
  afterAll(() => r?.guest.shutdown());

  it("lists virtioN-config and virtioN-virtqueues; every queue target in use has the same message, config its own", async () => {
    expect(await dmesg(r.guest, "virtio[01]: MSI")).toMatch(/virtio1: MSI: configuration and shared virtqueue messages \(2 vectors\)/);
    const irqs = await interrupts(r.guest);
    expect(names(irqs, "virtio0")).toEqual(["virtio0-config", "virtio0-virtqueues"]);
    expect(names(irqs, "virtio1")).toEqual(["virtio1-config", "virtio1-virtqueues"]);
    onV3Chip(irqs, "virtio1");
    for (const [dev, inUse] of [
      [r.blk(), [true, true]],
      [r.net(), [true, true, true, false]],
    ] as const) {
      const st = dev.transport.state();
      expect(st.msiMode).toBe("per-queue");
      const targets = st.msiPerQueue!.targets;
      expect(targets.map((x) => x.enabled)).toEqual(inUse);
      const queues = targets.slice(1).filter((x) => x.enabled);
      expect(new Set(queues.map((x) => `${x.addrLow}/${x.data}`)).size).toBe(1);
      expect(targets[0]!.data).not.toBe(queues[0]!.data);
      expect(queues[0]!.addrLow >>> 20).toBe(0xfee);
    }
  });

  it("disk I/O raises virtio0-virtqueues; data round-trips past the page cache", async () => {
    const before = await interrupts(r.guest);
    expect(await sh(r.guest, DD)).toMatch(/128\+0 records in/);
    await diskRoundTrip(r.guest, r.disk);
    const rise = countOf(await interrupts(r.guest), "virtio0-virtqueues") - countOf(before, "virtio0-virtqueues");
    console.log(`v3 shared disk: guest virtio0-virtqueues +${rise}`);
    expect(rise).toBeGreaterThan(0);
    noLine(r, [r.blk()]);
  });

  it("the network works on virtio1-virtqueues, and link changes arrive on virtio1-config", async () => {
    const before = await interrupts(r.guest);
    await netRoundTrip(r);
    expect(countOf(await interrupts(r.guest), "virtio1-virtqueues")).toBeGreaterThan(countOf(before, "virtio1-virtqueues"));
    const configSent = () => r.net().transport.msiPerQueue!.counters.targets[0]!.delivered;
    const sent = configSent();
    await linkToggles(r);
    expect(configSent() - sent).toBe(2);
    noLine(r, [r.blk(), r.net()]);
  });

  it("a queue's target masked from the host holds the completion until unmasked", async () => {
    await maskHoldsCompletion(r, "virtio0-virtqueues");
    noLine(r, [r.blk()]);
  });
});

/** A device whose MsiControl ignores every write (MSI_ENABLE never takes); returns the values written. */
function ignoreMsiControl(t: MmioTransport): number[] {
  const seen: number[] = [];
  const write = t.write.bind(t);
  t.write = (offset, width, value) => {
    if (offset === REG.MsiControl) {
      seen.push(value >>> 0);
      return;
    }
    write(offset, width, value);
  };
  return seen;
}

describe("a device whose MSI_ENABLE does not take: the line", () => {
  let r: Rig;
  let written: number[] = [];
  beforeAll(async () => {
    r = await boot({}, { nic: false, onMachine: (machine) => (written = ignoreMsiControl(machine.devices[0]!.transport)) });
  });
  afterAll(() => r?.guest.shutdown());

  it("says what it read, tears its interrupts down and runs on the IO-APIC line; data round-trips", async () => {
    expect(await dmesg(r.guest, "virtio0: MSI")).toMatch(/virtio0: MSI: MsiControl reads 0x0/);
    expect(written).toContain(1);
    const irqs = await interrupts(r.guest);
    expect(ofDevice(irqs, "virtio0").map((l) => [l.name, l.chip])).toEqual([["virtio0", "IO-APIC"]]);
    const t = r.blk().transport;
    expect(t.state()).toMatchObject({ interruptMode: "line", msiMode: null });
    // What the failed attempt left: no target can send (disabled, or without an address).
    expect(t.state().msiPerQueue!.targets.every((x) => !x.enabled || x.addrLow === 0)).toBe(true);
    await diskRoundTrip(r.guest, r.disk);
    expect(r.blk().line.counters.raised).toBeGreaterThan(0);
    expect(r.guest.machine.msiRouter.counters.dropped).toBe(0);
    expect(r.guest.machine.faults).toEqual([]);
  });
});

describe("virtio_mmio.msi=0 on a v3 device: the line, RING_RESET still taken", () => {
  let r: Rig;
  beforeAll(async () => {
    r = await boot({}, { append: "virtio_mmio.msi=0", nic: false });
  });
  afterAll(() => r?.guest.shutdown());

  it("runs on the IO-APIC line, touches no MSI register, and round-trips data", async () => {
    expect(await negotiated(r.guest, "virtio0", 49)).toBe(false);
    expect(await negotiated(r.guest, "virtio0", 40)).toBe(true);
    const before = await interrupts(r.guest);
    expect(before.filter((l) => /virtio-mmio/.test(l.chip))).toEqual([]);
    expect(ofDevice(before, "virtio0").map((l) => [l.name, l.chip])).toEqual([["virtio0", "IO-APIC"]]);
    await diskRoundTrip(r.guest, r.disk);
    expect(countOf(await interrupts(r.guest), "virtio0")).toBeGreaterThan(countOf(before, "virtio0"));
    const dev = r.blk();
    expect(dev.transport.state()).toMatchObject({ interruptMode: "line", msiMode: null });
    expect(dev.line.counters.raised).toBeGreaterThan(0);
    v3Untouched(dev.transport);
    expect(r.guest.machine.msiRouter.counters.messages).toBe(0);
    expect(r.disk.counters.errors).toBe(0);
  });
});

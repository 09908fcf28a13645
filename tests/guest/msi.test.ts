// The 2020 layout's vector table (docs/virtio-mmio-msi.md) end to end under our patched Linux
// virtio_mmio driver (its not-for-upstream patch, virtio_mmio.msi_layout=2020), on the default disk:
// per-queue vectors (fixed mapping), the line fallback with virtio_mmio.msi=0, the dynamic
// mapping (2 vectors), and a vector masked from the host while the guest waits for its I/O.
// tests/guest/msi-fallback.test.ts has the cases where the driver must not use MSI, and the
// dynamic mapping with fewer vectors than queues. tests/guest/msi-per-queue.test.ts has the
// default v3 layout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { createDevices } from "../../src/node/devices.ts";
import { MSI_CMD, REG } from "../../src/virtio/constants.ts";
import { diskRoundTrip } from "./disk-round-trip.ts";
import { countOf, interrupts, type IrqLine } from "./proc-interrupts.ts";
import { guestRuns } from "./guest-progress.ts";
import { sh } from "./shell.ts";

/** The 2020 table's irq chip in /proc/interrupts (the series' NOT FOR UPSTREAM patch), one per device. */
const TABLE_CHIP = /^virtio-mmio-2020-virtio-mmio\.\d+$/;

/** The 2020 layout: the devices offer the vector table, and the kernel is told to read bit 40 as it. */
const TABLE_ONLY = { msiLayout: "2020" } as const;

const byName = (lines: IrqLine[], name: string) => lines.find((l) => l.name === name);

/** Reads the whole disk past the page cache (8 MiB default disk: 128 requests of 64 KiB). */
const DD = "echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vda of=/dev/null bs=64k 2>&1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Guest instructions a masked event must stay pending for while the guest runs. The guest is
 * mostly halted then (its dd waits for the interrupt): this is its timer ticks and scheduler at
 * work, about what 1.5 s gave on a fast host, and a slow host takes longer, never less.
 */
const HELD_FOR = 3_000_000;

describe("MSI on (default): one vector per queue plus config", () => {
  let guest: BootedGuest;
  let device: BlockDevice;
  beforeAll(async () => {
    const devices = await createDevices({});
    device = devices[0] as BlockDevice;
    guest = await bootGuest({ devices, ...TABLE_ONLY });
  });
  afterAll(() => guest?.shutdown());

  const dev0 = () => guest.machine.devices[0]!;
  const deliveredPerVector = () => dev0().transport.msi!.counters.vectors.map((v) => v.delivered);

  it("/proc/interrupts lists virtio0-config and virtio0-req.0 on the MSI chip, no IO-APIC line for virtio0", async () => {
    const irqs = await interrupts(guest);
    for (const name of ["virtio0-config", "virtio0-req.0"]) {
      expect(byName(irqs, name)?.chip, name).toMatch(TABLE_CHIP);
    }
    const virtio0 = irqs.filter((l) => l.name.startsWith("virtio0"));
    expect(virtio0.map((l) => l.name).sort()).toEqual(["virtio0-config", "virtio0-req.0"]);
    // The legacy line: absent (or, if ever listed, never taken).
    const legacy = irqs.find((l) => l.chip === "IO-APIC" && /\bvirtio0\b/.test(l.name));
    expect(legacy?.count ?? 0).toBe(0);
    const st = dev0().transport.state();
    expect(st.interruptMode).toBe("msi");
    expect(st.msi).toMatchObject({ enabled: true, sharing: false, configVector: 0, queueVectors: [1] });
  });

  it("disk I/O raises the req.0 MSI; the device never used InterruptStatus, InterruptACK or the line", async () => {
    const t = dev0().transport;
    const router = guest.machine.msiRouter.counters;
    const before = await interrupts(guest);
    const devBefore = deliveredPerVector();
    expect(await sh(guest, DD)).toMatch(/128\+0 records in/);
    const after = await interrupts(guest);
    const devAfter = deliveredPerVector();

    const guestReq = countOf(after, "virtio0-req.0") - countOf(before, "virtio0-req.0");
    const devReq = devAfter[1]! - devBefore[1]!;
    console.log(
      `dd of 8 MiB (MSI, fixed): guest virtio0-req.0 +${guestReq}, virtio0-config +${countOf(after, "virtio0-config") - countOf(before, "virtio0-config")}; ` +
        `device vector deliveries +[${devAfter.map((n, i) => n - devBefore[i]!).join(", ")}], totals [${devAfter.join(", ")}]; ` +
        `router delivered ${router.delivered}, coalesced ${router.coalesced}, dropped ${router.dropped}; ` +
        `InterruptStatus reads ${t.counters.reads.InterruptStatus}, InterruptACK writes ${t.counters.writes.InterruptACK}, line raised ${dev0().line.counters.raised}`,
    );
    expect(guestReq).toBeGreaterThan(0);
    expect(devReq).toBeGreaterThanOrEqual(guestReq); // two messages may merge in the APIC's IRR
    // Device side: MSI has been on since the driver probed, so these are totals since boot.
    expect(t.counters.reads.InterruptStatus).toBe(0);
    expect(t.counters.writes.InterruptACK).toBe(0);
    expect(t.counters.errors.ackWhileMsi).toBe(0);
    expect(dev0().line.counters.raised).toBe(0);
    // Every message the table sent reached the router and was delivered (or merged).
    const sumDelivered = devAfter.reduce((a, b) => a + b, 0);
    const sumSent = t.msi!.counters.vectors.reduce((a, v) => a + v.sent, 0);
    expect(router.delivered).toBeGreaterThan(0);
    expect(router.messages).toBe(sumDelivered);
    expect(router.delivered + router.coalesced).toBe(sumDelivered);
    expect(router.dropped).toBe(0);
    expect(sumSent).toBe(sumDelivered);
    // The legacy line stayed silent.
    expect(after.filter((l) => l.chip === "IO-APIC" && /\bvirtio0\b/.test(l.name)).every((l) => l.count === 0)).toBe(true);
  });

  it("data round-trips through the filesystem and the device", async () => {
    await diskRoundTrip(guest, device);
  });

  it("a vector masked from the host holds the completion pending and sends it on UNMASK", async () => {
    const t = dev0().transport;
    const msi = t.msi!;
    const vector = msi.state().queueVectors[0]!;
    const vc = msi.counters.vectors[vector]!;
    const savedSel = msi.state().vecSel;
    await sh(guest, "echo 3 > /proc/sys/vm/drop_caches");
    const irqsBefore = countOf(await interrupts(guest), "virtio0-req.0");

    // MASK at the register level, as a driver would: MsiVecSel, then MsiCmd.
    t.write(REG.MsiVecSel, 4, vector);
    t.write(REG.MsiCmd, 4, MSI_CMD.MASK);
    t.write(REG.MsiVecSel, 4, savedSel);
    let unmasked = false;
    const unmask = () => {
      if (unmasked) return;
      unmasked = true;
      t.write(REG.MsiVecSel, 4, vector);
      t.write(REG.MsiCmd, 4, MSI_CMD.UNMASK);
      t.write(REG.MsiVecSel, 4, savedSel);
    };
    try {
      expect(msi.state().vectors[vector]).toMatchObject({ masked: true, pending: false });
      const pendingBefore = vc.pendingWhileMasked;
      const deliveredBefore = vc.delivered;
      let settled = false;
      const dd = guest.console.exec("dd if=/dev/vda of=/dev/null bs=64k count=16 2>&1", 30_000).finally(() => {
        settled = true;
      });
      // The device completes the guest's first read; its event must wait in the pending bit.
      // Were it lost (not re-sent on UNMASK), nothing would ever make the guest look at the used
      // ring again: dd would hang and the exec above time out (checked by mutating MsiTable).
      const deadline = Date.now() + 30_000;
      while (vc.pendingWhileMasked === pendingBefore && Date.now() < deadline) await sleep(20);
      expect(vc.pendingWhileMasked).toBeGreaterThan(pendingBefore);
      // The guest keeps running (at least HELD_FOR instructions, its idle ticks included):
      // without the interrupt its dd cannot finish, and the event stays pending all along.
      const t0 = Date.now();
      const ran = await guestRuns(guest.machine, HELD_FOR, () => !settled && msi.state().vectors[vector]!.pending === true);
      console.log(`held: the guest ran ${ran} instructions in ${Date.now() - t0} ms with the event pending and dd blocked`);
      expect(settled).toBe(false);
      expect(msi.state().vectors[vector]).toMatchObject({ masked: true, pending: true });
      expect(vc.delivered).toBe(deliveredBefore);
      const heldEvents = vc.pendingWhileMasked - pendingBefore;

      unmask();
      const r = await dd;
      expect(r.status).toBe(0);
      expect(r.output).toMatch(/16\+0 records in/);
      expect(msi.state().vectors[vector]).toMatchObject({ masked: false, pending: false });
      expect(vc.delivered).toBeGreaterThan(deliveredBefore);
      const irqsAfter = countOf(await interrupts(guest), "virtio0-req.0");
      expect(irqsAfter).toBeGreaterThan(irqsBefore);
      console.log(
        `mask test: ${heldEvents} event(s) held while vector ${vector} was masked; after UNMASK the dd finished, ` +
          `guest virtio0-req.0 +${irqsAfter - irqsBefore}, device deliveries +${vc.delivered - deliveredBefore}`,
      );
    } finally {
      unmask();
    }
  });

  it("logged no virtio or block error", async () => {
    const { output } = await guest.console.exec("dmesg | grep -i -E 'I/O error|blk_update|virtio.*(error|fail)|EXT2-fs error'", 10_000);
    expect(output).toBe("");
    expect(device.counters.errors).toBe(0);
    expect(guest.machine.faults).toEqual([]);
  });
});

describe("virtio_mmio.msi=0: the driver uses the interrupt line", () => {
  let guest: BootedGuest;
  let device: BlockDevice;
  beforeAll(async () => {
    const devices = await createDevices({});
    device = devices[0] as BlockDevice;
    guest = await bootGuest({ devices, ...TABLE_ONLY, append: "virtio_mmio.msi=0" });
  });
  afterAll(() => guest?.shutdown());

  it("/proc/interrupts has the IO-APIC virtio0 line rising during disk I/O and no MSI entry", async () => {
    const dev = guest.machine.devices[0]!;
    const t = dev.transport;
    const before = await interrupts(guest);
    expect(before.filter((l) => /virtio-mmio-/.test(l.chip))).toEqual([]);
    expect(byName(before, "virtio0")?.chip).toBe("IO-APIC");
    const statusBefore = t.counters.reads.InterruptStatus;
    expect(await sh(guest, DD)).toMatch(/128\+0 records in/);
    const after = await interrupts(guest);
    const rise = countOf(after, "virtio0") - countOf(before, "virtio0");
    console.log(
      `dd of 8 MiB (msi=0, line): guest virtio0 +${rise} (total ${countOf(after, "virtio0")}); ` +
        `InterruptStatus reads total ${t.counters.reads.InterruptStatus} (+${t.counters.reads.InterruptStatus - statusBefore} during dd), ` +
        `InterruptACK writes ${t.counters.writes.InterruptACK}, line raised ${dev.line.counters.raised}`,
    );
    expect(rise).toBeGreaterThan(0);
    expect(after.filter((l) => /virtio-mmio-/.test(l.chip) || /^virtio0-/.test(l.name))).toEqual([]);
    expect(t.counters.reads.InterruptStatus - statusBefore).toBeGreaterThan(0);
    expect(t.counters.writes.InterruptACK).toBeGreaterThan(0);
    expect(dev.line.counters.raised).toBeGreaterThan(0);
    expect(t.state().interruptMode).toBe("line");
    expect(t.state().msi?.enabled).toBe(false);
    expect(guest.machine.msiRouter.counters.messages).toBe(0);
    expect(t.msi!.counters.vectors.every((v) => v.sent === 0)).toBe(true);
  });

  it("data round-trips", async () => {
    await diskRoundTrip(guest, device);
    expect(device.counters.errors).toBe(0);
  });
});

describe("MSI with sharing (2 vectors): the driver maps config to vector 0 and its one queue to vector 1", () => {
  let guest: BootedGuest;
  let device: BlockDevice;
  beforeAll(async () => {
    const devices = await createDevices({});
    device = devices[0] as BlockDevice;
    guest = await bootGuest({ devices, ...TABLE_ONLY, msiOptions: { sharing: true, vectors: 2 } });
  });
  afterAll(() => guest?.shutdown());

  it("lists virtio0-config and virtio0-req.0 on the MSI chip, mapped with MAP_CONFIG / MAP_QUEUE", async () => {
    const irqs = await interrupts(guest);
    expect(byName(irqs, "virtio0-config")?.chip).toMatch(TABLE_CHIP);
    expect(byName(irqs, "virtio0-req.0")?.chip).toMatch(TABLE_CHIP);
    expect(irqs.filter((l) => l.name.startsWith("virtio0")).map((l) => l.name).sort()).toEqual([
      "virtio0-config",
      "virtio0-req.0",
    ]);
    const st = guest.machine.devices[0]!.transport.state();
    expect(st.interruptMode).toBe("msi");
    expect(st.msi).toMatchObject({ enabled: true, sharing: true, configVector: 0, queueVectors: [1] });
  });

  it("disk I/O raises virtio0-req.0; data round-trips", async () => {
    const dev = guest.machine.devices[0]!;
    const before = await interrupts(guest);
    expect(await sh(guest, DD)).toMatch(/128\+0 records in/);
    const after = await interrupts(guest);
    const rise = countOf(after, "virtio0-req.0") - countOf(before, "virtio0-req.0");
    console.log(`dd of 8 MiB (MSI, sharing): guest virtio0-req.0 +${rise}`);
    expect(rise).toBeGreaterThan(0);
    await diskRoundTrip(guest, device);
    expect(dev.transport.counters.reads.InterruptStatus).toBe(0);
    expect(dev.line.counters.raised).toBe(0);
    expect(guest.machine.msiRouter.counters.dropped).toBe(0);
    expect(device.counters.errors).toBe(0);
  });
});

// The unmodified Linux virtio_mmio driver (a kernel built by `GUEST_NO_PATCHES=1 bash
// guest/build.sh DIR`: no guest/patches, no CONFIG_VIRTIO_MMIO_MSI) on our devices, which offer
// the v3 layout's VIRTIO_F_MMIO_MSI (bit 49) beside virtio 1.4's RING_RESET (bit 40). The stock
// driver does not know bit 49 and must not accept it: it runs the device in classic single-line
// mode (docs/virtio-mmio-msi-v3.md, R3). It does not take RING_RESET either: virtio's core
// clears the bit for a transport without ring-reset operations, which stock virtio_mmio has none of.
//
// The kernel is STOCK_KERNEL (default /tmp/guest-stock/bzImage; scripts/test-from-scratch.sh
// builds it). Missing, the test fails and says how to build it; STOCK_KERNEL=skip leaves it out
// on purpose (scripts/preflight.mjs says so before the suite starts).
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { createDevices } from "../../src/node/devices.ts";
import { FEATURE } from "../../src/virtio/constants.ts";
import { diskRoundTrip } from "./disk-round-trip.ts";
import { interrupts } from "./proc-interrupts.ts";
import { sh } from "./shell.ts";

const STOCK_KERNEL = process.env.STOCK_KERNEL || "/tmp/guest-stock/bzImage";
const skipped = STOCK_KERNEL === "skip";
const present = !skipped && existsSync(STOCK_KERNEL);

describe.runIf(!skipped && !present)("stock kernel", () => {
  it("is present", () => {
    throw new Error(
      `no stock kernel at ${STOCK_KERNEL}: build it with 'GUEST_NO_PATCHES=1 bash guest/build.sh /tmp/guest-stock' ` +
        "(or set STOCK_KERNEL to one; STOCK_KERNEL=skip leaves this test out)",
    );
  });
});

describe.runIf(present)(`the stock virtio_mmio driver (${STOCK_KERNEL}) on devices offering MSI`, () => {
  let guest: BootedGuest;
  let device: BlockDevice;
  beforeAll(async () => {
    const devices = await createDevices({});
    device = devices[0] as BlockDevice;
    guest = await bootGuest({ devices, kernel: STOCK_KERNEL });
  });
  afterAll(() => guest?.shutdown());

  it("is the stock driver: no msi parameter, bits 49 and 40 (RING_RESET) offered but not accepted", async () => {
    expect(await sh(guest, "ls /sys/module/virtio_mmio/parameters/ 2>/dev/null; echo end")).not.toMatch(/\bmsi\b/);
    const st = guest.machine.devices[0]!.transport.state();
    expect(st.offeredFeatures & FEATURE.MMIO_MSI).toBe(FEATURE.MMIO_MSI);
    expect(st.negotiatedFeatures & FEATURE.VERSION_1).toBe(FEATURE.VERSION_1);
    expect(st.negotiatedFeatures & FEATURE.MMIO_MSI).toBe(0n);
    expect(st.offeredFeatures & FEATURE.RING_RESET).toBe(FEATURE.RING_RESET);
    expect(st.negotiatedFeatures & FEATURE.RING_RESET).toBe(0n);
    const features = (await sh(guest, "cat /sys/bus/virtio/devices/virtio0/features")).trim();
    expect(features[49] ?? "0").toBe("0");
    expect(features[40] ?? "0").toBe("0");
  });

  it("disk I/O works (sha256 round-trip past the page cache) on the IO-APIC line; MSI stays off", async () => {
    const dev = guest.machine.devices[0]!;
    const t = dev.transport;
    const virtio0 = async () => (await interrupts(guest)).find((l) => l.name === "virtio0");
    const before = await virtio0();
    expect(before?.chip).toBe("IO-APIC");
    await diskRoundTrip(guest, device);
    expect(await sh(guest, "echo 3 > /proc/sys/vm/drop_caches && dd if=/dev/vda of=/dev/null bs=64k 2>&1")).toMatch(/128\+0 records in/);
    const after = await sh(guest, "cat /proc/interrupts");
    const total = (await virtio0())!.count;
    const rise = total - before!.count;
    console.log(
      `stock driver: IO-APIC virtio0 +${rise} (total ${total}); InterruptStatus reads ${t.counters.reads.InterruptStatus}, ` +
        `InterruptACK writes ${t.counters.writes.InterruptACK}, line raised ${dev.line.counters.raised}, MsiControl writes ${t.counters.writes.MsiControl}`,
    );
    expect(rise).toBeGreaterThan(0);
    expect(after).not.toMatch(/MSI/);
    expect(after).not.toMatch(/virtio0-/);
    expect(t.counters.reads.InterruptStatus).toBeGreaterThan(0);
    expect(t.counters.writes.InterruptACK).toBeGreaterThan(0);
    expect(dev.line.counters.raised).toBeGreaterThan(0);
    // The MSI registers were never touched and MSI stayed off (R3).
    for (const reg of ["MsiControl", "QueueMsiAddrLow", "QueueMsiData", "QueueMsiControl", "ConfigMsiData", "ConfigMsiControl"] as const) {
      expect(t.counters.writes[reg], reg).toBe(0);
    }
    expect(t.counters.reads.MsiVectorHint).toBe(0);
    expect(t.state().interruptMode).toBe("line");
    expect(t.state().msiPerQueue).toMatchObject({ enabled: false });
    expect(t.msiPerQueue!.counters.targets.every((v) => v.sent === 0)).toBe(true);
    expect(guest.machine.msiRouter.counters.messages).toBe(0);
  });

  it("logged no virtio or block error", async () => {
    const { output } = await guest.console.exec("dmesg | grep -i -E 'I/O error|blk_update|virtio.*(error|fail)|EXT2-fs error'", 10_000);
    expect(output).toBe("");
    expect(device.counters.errors).toBe(0);
    expect(guest.machine.faults).toEqual([]);
  });
});

// A hostile guest: the image's `hostile-mmio` writes garbage with devmem to every register of
// both devices (disk and network), and v3 MSI pairs (docs/virtio-mmio-msi-v3.md) with addresses
// outside the local APIC's window and vectors below 16, enabled on queues that exist and do not,
// MSI_ENABLE with reserved bits, queue resets, while the drivers are bound. The emulator must keep running, the
// console must answer, every bad access must be counted, none may throw out of a device, and after
// the drivers reset the devices (unbind + bind) both must work as before: the disk reads and
// writes with checksums, the network fetches from the host, on per-queue MSIs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BlockDevice } from "../../src/devices/blk/device.ts";
import type { NetDevice } from "../../src/devices/net/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { createDevices } from "../../src/node/devices.ts";
import { testNetwork } from "./network.ts";
import { sh } from "./shell.ts";
import { n, recordFigure } from "../reliability/record.ts";


const sumErrors = (errors: object) => (Object.values(errors) as number[]).reduce((a, b) => a + b, 0);

describe("a hostile guest writes garbage to every device register", () => {
  let guest: BootedGuest;
  let blk: BlockDevice;
  let net: NetDevice;
  const BODY = "still here after the garbage\n";
  let hostileFigure = "";

  beforeAll(async () => {
    const [disk] = await createDevices({});
    blk = disk as BlockDevice;
    const network = testNetwork("fetch", { answer: async () => new Response(BODY, { status: 200 }) });
    net = network.device;
    guest = await bootGuest({ devices: [blk, net], v86Options: network.v86Options, onMachine: network.onMachine });
  }, 120_000);
  afterAll(async () => {
    await guest?.shutdown();
  });

  it("the emulator runs on, every bad access is counted, nothing throws out of a device", async () => {
    const transports = guest.machine.devices.map((d) => d.transport);
    const errorsBefore = transports.map((t) => sumErrors(t.counters.errors));
    const out = await sh(guest, "hostile-mmio -s 7", 240_000);
    expect(out).toMatch(/hostile-mmio: \d+ writes to 2 devices/);
    expect(out).toContain("devices rebound to the driver");
    // The console answers at once.
    expect(await sh(guest, "echo alive", 10_000)).toBe("alive\n");
    const summary: string[] = [];
    const countedPerDevice: string[] = [];
    transports.forEach((t, i) => {
      const counted = sumErrors(t.counters.errors) - errorsBefore[i]!;
      summary.push(`${guest.machine.devices[i]!.device.name}: ${counted} errors counted`);
      countedPerDevice.push(`${n(counted)} (${guest.machine.devices[i]!.device.name})`);
      expect(counted).toBeGreaterThan(100);
      expect(t.counters.deviceThrew).toBe(0);
      expect(t.counters.internalError).toBe(0);
    });
    // MSI writes outside 0xFEE00000-0xFEEFFFFF or with vectors below 16 never reached the CPU.
    const { perVector: _perVector, ...router } = guest.machine.msiRouter.counters;
    summary.push(`router: ${JSON.stringify(router)}`);
    transports.forEach((t) => {
      const { targets: _targets, ...pq } = t.msiPerQueue!.counters;
      summary.push(`v3 targets: ${JSON.stringify(pq)}`);
    });
    // Reserved control bits refused on every device; whatever the bad pairs sent (outside the
    // window, or a vector below 16) the platform refused: no vector below 16 reached the CPU.
    expect(transports.every((t) => t.msiPerQueue!.counters.badControl > 0)).toBe(true);
    expect(Array.from(guest.machine.msiRouter.counters.perVector.slice(0, 16)).every((c) => c === 0)).toBe(true);
    console.log(`hostile-mmio: ${out.split("\n")[0]}; ${summary.join("; ")}`);
    expect(guest.machine.faults).toEqual([]);
    expect(guest.machine.running).toBe(true);
    const writes = /hostile-mmio: (\d+) writes/.exec(out)![1]!;
    const threw = transports.reduce((a, t) => a + t.counters.deviceThrew + t.counters.internalError, 0);
    hostileFigure = `${n(Number(writes))} writes: ${countedPerDevice.join(" and ")} errors counted, ${threw} thrown; the console answers`;
  }, 300_000);

  it("after the driver's reset the disk reads and writes with checksums", async () => {
    await sh(guest, "dd if=/dev/urandom of=/tmp/x bs=64k count=32 2>/dev/null && cp /tmp/x /mnt/x && sync");
    await sh(guest, "echo 3 > /proc/sys/vm/drop_caches");
    const before = blk.counters.bytesRead;
    const sums = await sh(guest, "sha256sum /tmp/x /mnt/x | cut -d' ' -f1 | uniq | wc -l");
    expect(sums.trim()).toBe("1");
    expect(blk.counters.bytesRead - before).toBeGreaterThanOrEqual(2 * 1024 * 1024);
    await sh(guest, "rm /mnt/x && sync");
    expect(await sh(guest, "grep -c virtio0-req.0 /proc/interrupts")).toBe("1\n");
  });

  it("after the driver's reset the network fetches from the host on MSIs", async () => {
    expect(await sh(guest, "wget -q -O - http://192.168.86.1/again.txt", 60_000)).toBe(BODY);
    const irqs = await sh(guest, "grep virtio1-input.0 /proc/interrupts");
    expect(irqs).toMatch(/virtio-mmio-virtio-mmio\.\d/);
    expect(Number(irqs.trim().split(/\s+/)[1])).toBeGreaterThan(0);
    recordFigure("hostile", `${hostileFigure}; afterwards the disk round-trips 2 MiB by sha256 and the network fetches, on MSIs`);
  });
});

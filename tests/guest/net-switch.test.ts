// Two guests on one VirtualSwitch, each with our virtio-net (MSI on): nobody answers DHCP there,
// so each gets its address from the kernel command line (guest.ip=, read by the image's /init).
// They ping each other both ways and move 10 MB over TCP (busybox httpd -> wget), checksummed at
// both ends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetDevice } from "../../src/devices/net/device.ts";
import { VirtualSwitch } from "../../src/devices/net/switch.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { sh } from "./shell.ts";

const IP = { a: "192.168.87.1", b: "192.168.87.2" } as const;

describe("two guests on one virtual switch", () => {
  const sw = new VirtualSwitch();
  const devA = new NetDevice({ backend: sw.createPort("a"), name: "net-a", mac: "02:00:00:00:87:01" });
  const devB = new NetDevice({ backend: sw.createPort("b"), name: "net-b", mac: "02:00:00:00:87:02" });
  let a: BootedGuest;
  let b: BootedGuest;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      bootGuest({ devices: [devA], append: `guest.ip=${IP.a}/24` }),
      bootGuest({ devices: [devB], append: `guest.ip=${IP.b}/24` }),
    ]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all([a?.shutdown(), b?.shutdown()]);
  });

  it("each guest set its address from guest.ip at boot", async () => {
    expect(await sh(a, "ip -4 -o addr show dev eth0")).toContain(`inet ${IP.a}/24`);
    expect(await sh(b, "ip -4 -o addr show dev eth0")).toContain(`inet ${IP.b}/24`);
  });

  it("they ping each other both ways", async () => {
    expect(await sh(a, `ping -c 3 -W 5 ${IP.b}`)).toMatch(/3 packets transmitted, 3 packets received/);
    expect(await sh(b, `ping -c 3 -W 5 ${IP.a}`)).toMatch(/3 packets transmitted, 3 packets received/);
    // The switch learned both stations and forwards between them rather than flooding.
    expect(sw.macTable().map((e) => e.mac).sort()).toEqual(["02:00:00:00:87:01", "02:00:00:00:87:02"]);
  });

  it("10 MB over TCP arrive with the sender's checksum", async () => {
    await sh(a, "mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1M count=10 2>/dev/null");
    const sent = (await sh(a, "sha256sum /tmp/www/blob", 120_000)).split(" ")[0];
    await sh(a, "httpd -p 80 -h /tmp/www");
    const t0 = performance.now();
    const got = await sh(b, `wget -q -O - http://${IP.a}/blob | sha256sum`, 180_000);
    const seconds = (performance.now() - t0) / 1000;
    expect(got.split(" ")[0]).toBe(sent);
    console.log(`net-switch: 10 MiB guest to guest in ${seconds.toFixed(1)} s (${(10 / seconds).toFixed(2)} MiB/s)`);
    // Both devices moved the data without a drop or a malformed frame.
    expect(devA.counters.txBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(devB.counters.rxBytes).toBeGreaterThan(10 * 1024 * 1024);
    for (const dev of [devA, devB]) {
      expect(dev.counters).toMatchObject({ txDropBadHeader: 0, txDropTooBig: 0, rxDropTooBig: 0, internalErrors: 0 });
    }
  }, 300_000);

  it("the traffic was signalled by per-queue MSIs in both guests", async () => {
    for (const g of [a, b]) {
      const irqs = await sh(g, "grep virtio0 /proc/interrupts");
      expect(irqs).toMatch(/virtio-mmio-virtio-mmio\.\d.*virtio0-input\.0/);
      expect(irqs).not.toMatch(/IO-APIC/);
    }
  });
});

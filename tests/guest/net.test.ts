// Our virtio-net under the stock Linux virtio_net driver, on v86's own fetch adapter (no v86
// NIC: net_device type "none"), wired by createNetwork as the `guest` command and the page wire it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetDevice } from "../../src/devices/net/device.ts";
import { parseMac } from "../../src/devices/net/mac.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { testNetwork } from "./network.ts";
import { sh } from "./shell.ts";

/** Link down then up from the host: the guest's carrier follows each change. */
async function expectLinkToggles(guest: BootedGuest, dev: NetDevice): Promise<void> {
  for (const up of [false, true]) {
    dev.setLink(up);
    await sh(guest, "sleep 1");
    expect(await sh(guest, "cat /sys/class/net/eth0/carrier")).toBe(up ? "1\n" : "0\n");
  }
}

describe("virtio-net on v86's fetch adapter", () => {
  let guest: BootedGuest;
  let dev: NetDevice;
  const fetched: string[] = [];

  beforeAll(async () => {
    // No outside network here: the adapter's fetch answers from the test.
    const net = testNetwork("fetch", {
      answer: async (url) => {
        fetched.push(String(url));
        return new Response("hello from the host\n", { status: 200, headers: { "content-type": "text/plain" } });
      },
    });
    dev = net.device;
    guest = await bootGuest({ devices: [dev], v86Options: net.v86Options, onMachine: net.onMachine });
  }, 120_000);
  afterAll(async () => {
    await guest?.shutdown();
  });

  it("the driver probes eth0 with our address, MTU and negotiated features", async () => {
    expect(await sh(guest, "cat /sys/class/net/eth0/address")).toBe("52:54:00:12:34:56\n");
    expect(await sh(guest, "cat /sys/class/net/eth0/mtu")).toBe("1500\n");
    const features = (await sh(guest, "cat /sys/bus/virtio/devices/virtio0/features")).trim();
    for (const bitNo of [0, 3, 5, 15, 16, 17, 18, 23, 28, 29, 32]) expect(features[bitNo]).toBe("1");
    expect(features[1]).toBe("0"); // no GUEST_CSUM
  });

  it("comes up: the control queue turns promiscuous mode off", async () => {
    await sh(guest, "ip link set eth0 up");
    await sh(guest, "sleep 1");
    expect(dev.counters.ctrlPromisc).toBeGreaterThanOrEqual(1);
    expect(dev.state().promisc).toBe(false);
    expect(await sh(guest, "cat /sys/class/net/eth0/carrier")).toBe("1\n");
  });

  it("the image's /init configured eth0 by DHCP at boot (address, route, DNS)", async () => {
    expect(await sh(guest, "cat /tmp/udhcpc.eth0.log")).toMatch(/lease of 192\.168\.86\.100 obtained from 192\.168\.86\.1/);
    expect(await sh(guest, "ip -4 -o addr show dev eth0")).toContain("inet 192.168.86.100/24");
    expect(await sh(guest, "ip route")).toMatch(/^default via 192\.168\.86\.1 dev eth0/m);
    expect(await sh(guest, "cat /etc/resolv.conf")).toContain("nameserver 192.168.86.1");
  });

  it("pings the router and fetches over TCP (checksums completed by the device)", async () => {
    expect(await sh(guest, "ping -c 2 -W 5 192.168.86.1")).toMatch(/2 packets received/);
    const body = await sh(guest, "wget -q -O - http://192.168.86.1/hello.txt", 60_000);
    expect(body).toBe("hello from the host\n");
    expect(fetched.some((u) => u.endsWith("/hello.txt"))).toBe(true);
    expect(dev.counters.txChecksums).toBeGreaterThan(0);
    expect(dev.counters).toMatchObject({ internalErrors: 0, txDropBadHeader: 0, shortCopies: 0 });
  });

  it("each queue with a callback has its own MSI vector (the polled control queue has none)", async () => {
    const irqs = await sh(guest, "cat /proc/interrupts");
    for (const name of ["virtio0-config", "virtio0-input.0", "virtio0-output.0"]) {
      expect(irqs).toMatch(new RegExp(`virtio-mmio-virtio-mmio\\.\\d.*${name.replace(".", "\\.")}`));
    }
    expect(irqs).not.toMatch(/virtio0-control/);
    const count = (name: string) => Number(irqs.split("\n").find((l) => l.endsWith(name))!.trim().split(/\s+/)[1]);
    expect(count("virtio0-input.0")).toBeGreaterThan(0);
    expect(count("virtio0-output.0")).toBeGreaterThan(0);
  });

  it("link down and up reach the driver through config interrupts", async () => {
    await expectLinkToggles(guest, dev);
    expect(await sh(guest, "ping -c 1 -W 5 192.168.86.1")).toMatch(/1 packets received/);
  });
});

describe("virtio-net on the interrupt line (no MSI)", () => {
  let guest: BootedGuest;
  let dev: NetDevice;
  beforeAll(async () => {
    const net = testNetwork("fetch", { mac: parseMac("02:00:00:00:00:42") });
    dev = net.device;
    guest = await bootGuest({ devices: [dev], msi: false, v86Options: net.v86Options, onMachine: net.onMachine });
  }, 120_000);
  afterAll(async () => {
    await guest?.shutdown();
  });

  it("pings the router, link changes arrive", async () => {
    expect(await sh(guest, "cat /sys/class/net/eth0/address")).toBe("02:00:00:00:00:42\n");
    expect(await sh(guest, "ip -4 -o addr show dev eth0")).toContain("inet 192.168.86.100/24");
    expect(await sh(guest, "ping -c 3 -W 5 192.168.86.1")).toMatch(/3 packets received/);
    expect(await sh(guest, "grep virtio0 /proc/interrupts")).toMatch(/IO-APIC/);
    await expectLinkToggles(guest, dev);
  });
});

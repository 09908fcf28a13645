// A machine's device states as one: a disk and a NIC, each on its transport, saved together
// through JSON and restored onto fresh ones; a state that fails on any device changes none.

import { describe, expect, it } from "vitest";
import { MemoryBackend } from "../devices/blk/memory-backend.ts";
import { BlockDevice } from "../devices/blk/device.ts";
import { BLK_T } from "../devices/blk/constants.ts";
import { requestHeader } from "../testing/blk-request-header.ts";
import { NetDevice } from "../devices/net/device.ts";
import { QUEUE } from "../devices/net/constants.ts";
import { CaptureBackend } from "../testing/net-capture-backend.ts";
import { ethFrame } from "../testing/net-frames.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TestDriver } from "../testing/test-driver.ts";
import { quiesceDevices, restoreDeviceStates, saveDeviceStates } from "./device-states.ts";

const MSI = { layout: "v3" } as const;

function build(disk: Uint8Array, ram?: { blk: Uint8Array; net: Uint8Array }) {
  const blk = new BlockDevice({ backend: new MemoryBackend(disk) });
  const netBackend = new CaptureBackend();
  const net = new NetDevice({ backend: netBackend, queueSize: 32 });
  const dBlk = new TestDriver({ device: blk, msi: MSI, ...(ram ? { ram: ram.blk } : { ramSize: 1 << 20 }) });
  const dNet = new TestDriver({ device: net, msi: MSI, ...(ram ? { ram: ram.net } : { ramSize: 1 << 20 }) });
  const list = [{ device: blk, transport: dBlk.transport }, { device: net, transport: dNet.transport }];
  return { blk, net, dBlk, dNet, netBackend, list, disk };
}

describe("device states of a machine", () => {
  it("a disk and a NIC restore together; the disk's data and the NIC's waiting frame come through", async () => {
    const a = build(new Uint8Array(64 * 1024));
    a.dBlk.init({ msi: "per-queue" });
    a.dNet.init({ msi: "per-queue" });
    const data = new Uint8Array(512).fill(0x5a);
    a.dBlk.addChain(0, { readable: [requestHeader(BLK_T.OUT, 4), data], writable: [1] });
    a.dBlk.kick(0);
    const frame = ethFrame("52:54:00:12:34:56", "52:54:00:01:02:03", 100);
    a.netBackend.inject(frame); // no rx buffer posted: it waits
    await quiesceDevices(a.list);
    const json = JSON.stringify(saveDeviceStates(a.list));

    const b = build(a.disk.slice(), { blk: a.dBlk.ram.slice(), net: a.dNet.ram.slice() });
    b.dBlk.continueFrom(a.dBlk);
    b.dNet.continueFrom(a.dNet);
    restoreDeviceStates(b.list, JSON.parse(json));
    b.dBlk.runTasks();
    b.dNet.runTasks();
    const rd = b.dBlk.addChain(0, { readable: [requestHeader(BLK_T.IN, 4)], writable: [512, 1] });
    expect(b.dBlk.kick(0)).toEqual([{ id: rd.head, len: 513 }]);
    expect(b.dBlk.read(rd.writable[0]!.addr, 512)).toEqual(data);
    const rx = b.dNet.addChain(QUEUE.RX0, { writable: [512] });
    b.dNet.notify(QUEUE.RX0);
    b.dNet.runTasks();
    expect(b.dNet.takeUsed(QUEUE.RX0)).toEqual([{ id: rx.head, len: 12 + frame.length }]);
    expect(b.dNet.read(rx.writable[0]!.addr + 12, frame.length)).toEqual(frame);
  });

  it("a state that fails on the second device leaves the first untouched too", () => {
    const a = build(new Uint8Array(64 * 1024));
    a.dBlk.init({ msi: "none" });
    a.dNet.init({ msi: "none" });
    const good = JSON.parse(JSON.stringify(saveDeviceStates(a.list))) as { devices: { device: Record<string, unknown> }[] };
    const b = build(new Uint8Array(64 * 1024));
    b.dBlk.init({ msi: "per-queue" });
    b.dNet.init({ msi: "per-queue" });
    const before = b.list.map((x) => x.transport.state());
    const edited = structuredClone(good);
    edited.devices[1]!.device.mtu = 9000;
    expect(() => restoreDeviceStates(b.list, edited)).toThrow(/slot 1 \(net0\): saved virtio-net state refused for net0: mtu: saved 9000/);
    const swapped = { ...good, devices: [...good.devices].reverse() };
    expect(() => restoreDeviceStates(b.list, swapped)).toThrow(/slot 0: saved from a net device, this is blk \(blk0\)/);
    expect(() => restoreDeviceStates(b.list, { ...good, devices: good.devices.slice(1) })).toThrow(/saved with 1 device\(s\), this machine has 2/);
    const otherDisk = build(new Uint8Array(128 * 1024));
    expect(() => restoreDeviceStates(otherDisk.list, good)).toThrow(/slot 0 \(blk0\): saved virtio-blk state refused for blk0: config/);
    expect(b.list.map((x) => x.transport.state())).toEqual(before);
  });

  it("a device without a saved-state format is refused at the save", () => {
    const echo = new EchoDevice();
    const d = new TestDriver({ device: echo });
    expect(() => saveDeviceStates([{ device: echo, transport: d.transport }])).toThrow(/cannot save device echo0/);
  });
});

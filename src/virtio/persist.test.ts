// The one persistence shape (persist.ts) on every piece: save, JSON, check, apply gives back
// the same save; check changes nothing; and the transport's saved JSON is byte for byte what
// the code before this shape wrote (fixtures/transport-states-main.json, saved by main's
// saveState from the same driver steps), and those files still restore.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MSI_CMD } from "./constants.ts";
import type { MmioMsiOptions } from "./mmio-transport.ts";
import { perQueuePersist } from "./msi-per-queue-state.ts";
import { msiTablePersist } from "./msi-table-state.ts";
import { MsiPerQueue } from "./msi-per-queue.ts";
import { MsiTable } from "./msi-table.ts";
import { EventRecord } from "./event-record.ts";
import type { Persist } from "./persist.ts";
import { RamMemory } from "./ram-memory.ts";
import { EchoDevice } from "../testing/echo-device.ts";
import { TestDriver } from "../testing/test-driver.ts";

const CONFIGS: readonly [string, MmioMsiOptions | false, string][] = [
  ["fixed", { layout: "2020", vectors: 3, sharing: false }, "fixed"],
  ["shared", { layout: "2020", vectors: 2, sharing: true }, "shared"],
  ["v3", { layout: "v3" }, "per-queue"],
  ["v3-line", { layout: "v3" }, "none"],
  ["line", false, "none"],
];

/** The driver steps the fixture was saved after: init, (a masked vector), one request. */
function run(msi: MmioMsiOptions | false, mode: string, name: string): TestDriver {
  const d = new TestDriver({ device: new EchoDevice({ queues: [16, 16] }), msi, ramSize: 1 << 20 });
  d.init({ msi: mode as "fixed" });
  if (name === "fixed") d.msiCommand(MSI_CMD.MASK, 1);
  d.addChain(0, { readable: [new Uint8Array([1, 2])], writable: [2] });
  d.kick(0);
  return d;
}

/** save, JSON, check, apply onto `into`, save again: the same JSON; check alone changed nothing. */
function roundTrip<S, C>(from: Persist<S, C>, into: Persist<S, C>, settle = (): void => {}): void {
  const text = JSON.stringify(from.save());
  const before = JSON.stringify(into.save());
  const checked = into.check(JSON.parse(text));
  expect(JSON.stringify(into.save())).toBe(before);
  into.apply(checked);
  settle();
  expect(JSON.stringify(into.save())).toBe(text);
}

describe("the transport's saved JSON is the format main wrote", () => {
  const main = JSON.parse(readFileSync(new URL("./fixtures/transport-states-main.json", import.meta.url), "utf8")) as Record<string, string>;

  it.each(CONFIGS)("%s: byte for byte, and main's file restores", (name, msi, mode) => {
    const d = run(msi, mode, name);
    expect(JSON.stringify(d.transport.persist.save())).toBe(main[name]);
    const fresh = new TestDriver({ device: new EchoDevice({ queues: [16, 16] }), msi, ram: d.ram.slice() });
    fresh.transport.restoreState(JSON.parse(main[name]!));
    fresh.runTasks(); // the restore's notify of every running queue (transport-state.ts): nothing new
    expect(JSON.stringify(fresh.transport.saveState())).toBe(main[name]);
    expect(fresh.transport.state().msiMode).toBe(d.transport.state().msiMode);
  });
});

describe("every piece follows Persist", () => {
  it.each(CONFIGS)("the transport, %s", (name, msi, mode) => {
    const d = run(msi, mode, name);
    const fresh = new TestDriver({ device: new EchoDevice({ queues: [16, 16] }), msi, ram: d.ram.slice() });
    roundTrip(d.transport.persist, fresh.transport.persist, () => fresh.runTasks());
  });

  it("the 2020 table and the v3 targets (the mode is the transport's: their apply leaves it)", () => {
    const memory = new RamMemory(new Uint8Array(4096));
    const table = (): MsiTable => new MsiTable({ vectors: 4, sharing: true, queues: 2, memory, record: new EventRecord(2) });
    const a = table();
    a.selectVector(2);
    a.stage("addrLow", 0xfee00000);
    a.stage("data", 0x41);
    a.command(MSI_CMD.CONFIGURE, 0);
    a.command(MSI_CMD.MAP_QUEUE, 1);
    a.command(MSI_CMD.MASK, 0);
    roundTrip(msiTablePersist(a), msiTablePersist(table()));

    const targets = (): MsiPerQueue => new MsiPerQueue({ queues: 2, pairsHint: 3, memory, record: new EventRecord(2) });
    const b = targets();
    b.writeAddrLow(2, 0xfee01000);
    b.writeData(2, 0x52);
    b.writeControl(2, 1);
    b.writeAddrLow(1, 0xfee02000); // staged, not committed
    roundTrip(perQueuePersist(b), perQueuePersist(targets()));
  });
});

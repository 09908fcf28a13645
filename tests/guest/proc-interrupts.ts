// /proc/interrupts of a booted guest (one CPU), for tests that check which interrupt a driver
// chose: "25:  5  virtio-mmio-virtio-mmio.0  1-edge  virtio0-req.0", "5:  12  IO-APIC  5-fasteoi  virtio0",
// and with the local APIC off (8259 PIC) "5:  12  XT-PIC  virtio0".
import type { BootedGuest } from "../../src/node/boot.ts";
import { sh } from "./shell.ts";

export interface IrqLine {
  readonly irq: string;
  readonly count: number;
  readonly chip: string;
  /** The last handler's name (a line shared by several handlers lists them all; ours are not). */
  readonly name: string;
}

export async function interrupts(guest: BootedGuest): Promise<IrqLine[]> {
  const out = await sh(guest, "cat /proc/interrupts");
  const lines: IrqLine[] = [];
  for (const l of out.split("\n")) {
    const t = l.trim().split(/\s+/);
    const irq = /^(\d+):$/.exec(t[0] ?? "");
    if (!irq || t.length < 4) continue;
    lines.push({ irq: irq[1]!, count: Number(t[1]), chip: t[2]!, name: t[t.length - 1]! });
  }
  return lines;
}

/** The interrupts whose handler belongs to virtio device `dev` ("virtio1", "virtio1-config", ...). */
export const ofDevice = (lines: readonly IrqLine[], dev: string): IrqLine[] =>
  lines.filter((l) => l.name === dev || l.name.startsWith(`${dev}-`));

export const countOf = (lines: readonly IrqLine[], name: string): number => lines.find((l) => l.name === name)?.count ?? 0;

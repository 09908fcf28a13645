// Reading the guest's /proc/interrupts (one CPU): which interrupts a device has and how many
// each took. Pure text parsing, shared by the comparison and the benchmarks.

export interface GuestIrq {
  /** "25", or "NMI", "LOC"... for the architecture's own rows. */
  readonly irq: string;
  readonly count: number;
  /** "IO-APIC", "virtio-mmio-virtio-mmio.0", ... ("" for the architecture's rows). */
  readonly chip: string;
  /** The handler's name: "virtio0-req.0", "virtio0" (line), "ttyS0". */
  readonly name: string;
}

/** The rows with a count; the header line and rows without one (ERR, MIS) are skipped. */
export function parseInterrupts(text: string): GuestIrq[] {
  const rows: GuestIrq[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\w+):\s+(\d+)(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const rest = (m[3] ?? "").trim().split(/\s+/).filter(Boolean);
    const numbered = /^\d+$/.test(m[1]!);
    rows.push({
      irq: m[1]!,
      count: Number(m[2]),
      chip: numbered ? (rest[0] ?? "") : "",
      name: numbered ? (rest[rest.length - 1] ?? "") : rest.join(" "),
    });
  }
  return rows;
}

/** The interrupts Linux gave virtio device `index` (virtio0, virtio1...): its line or its MSIs. */
export function deviceIrqs(rows: readonly GuestIrq[], index: number): GuestIrq[] {
  const re = new RegExp(`^virtio${index}(-|$)`);
  return rows.filter((r) => /^\d+$/.test(r.irq) && re.test(r.name));
}

/** Sum of the counts of the rows whose name matches `name`. */
export function irqTotal(rows: readonly GuestIrq[], name: RegExp): number {
  return rows.filter((r) => name.test(r.name)).reduce((sum, r) => sum + r.count, 0);
}

// The platform's side of MSI as the fuzzer models it: a bus write outside RAM is an interrupt
// only inside 0xFEE00000-0xFEEFFFFF and only with a vector of 16 or more (0-15 are reserved
// for exceptions; a local APIC refuses them as illegal). Everything else is refused and
// counted. Each accepted message is checked against the sending transport's MSI state.

export const MSI_WINDOW_BASE = 0xfee00000;
export const MSI_WINDOW_END = 0xfef00000;
/** The lowest vector a local APIC accepts. */
export const MIN_MSI_VECTOR = 16;

export interface MsiSinkCounters {
  delivered: number;
  outsideWindow: number;
  illegalVector: number;
}

export class MsiSink {
  readonly counters: MsiSinkCounters = { delivered: 0, outsideWindow: 0, illegalVector: 0 };
  /** Breaches found at delivery time; the fuzzer fails on the first. */
  readonly violations: string[] = [];
  /** Data of the messages delivered since the caller last emptied it. */
  readonly delivered: number[] = [];
  /** Says why this message must not have been sent now, or null when it may (the rig's view). */
  check: ((addr: number, data: number) => string | null) | null = null;

  /** The platform's bus-write hook (non-RAM writes only). */
  readonly busWrite = (addr: number, data: number): boolean => {
    if (addr < MSI_WINDOW_BASE || addr >= MSI_WINDOW_END) {
      this.counters.outsideWindow++;
      return false;
    }
    if ((data & 0xff) < MIN_MSI_VECTOR) {
      this.counters.illegalVector++;
      return false;
    }
    const why = this.check?.(addr, data) ?? null;
    if (why !== null) this.violations.push(why);
    this.counters.delivered++;
    this.delivered.push(data);
    return true;
  };
}

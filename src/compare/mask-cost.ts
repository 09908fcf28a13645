// What masking costs in register accesses, read from a trace of the driver's accesses.
//
// A mask or unmask is a command write: MsiCmd MASK/UNMASK for a 2020 table vector, preceded by
// the MsiVecSel write that selects it; in the v3 layout a write of a target's control word
// (QueueMsiControl after the QueueSel write that selects the queue, or ConfigMsiControl) with
// MASK set, or with MASK clear and ENABLE set, preceded by a read of that word when the driver
// reads it to change one bit. One Linux irq_mask() may send several: with a shared interrupt
// it masks every target the interrupt serves. So the cost per mask is the accesses of all mask
// commands (and their selects) over the number of irq_mask() calls, which is the number of
// interrupts Linux freed (free_irq masks each once) or requested (request_irq unmasks each once).

import { MSI_CMD, MSI_TARGET_CONTROL } from "../virtio/constants.ts";
import type { TraceEntry } from "./register-trace.ts";

export interface CommandCost {
  /** MASK (or UNMASK) commands written. */
  commands: number;
  /** Those commands plus the select writes just before them. */
  accesses: number;
}

export interface MaskCost {
  mask: CommandCost;
  unmask: CommandCost;
}

const TARGET_CONTROLS: ReadonlySet<string> = new Set(["QueueMsiControl", "ConfigMsiControl"]);

function kindOf(e: TraceEntry): "mask" | "unmask" | null {
  if (!e.write) return null;
  if (e.reg === "MsiCmd") return e.value === MSI_CMD.MASK ? "mask" : e.value === MSI_CMD.UNMASK ? "unmask" : null;
  if (TARGET_CONTROLS.has(e.reg)) {
    if (e.value & MSI_TARGET_CONTROL.MASK) return "mask";
    return e.value & MSI_TARGET_CONTROL.ENABLE ? "unmask" : null;
  }
  return null;
}

/** The accesses just before command `i` that belong to it: a select, a read of the word it changes. */
function leadingAccesses(trace: readonly TraceEntry[], i: number): number {
  const e = trace[i]!;
  let n = 0;
  let j = i - 1;
  if (TARGET_CONTROLS.has(e.reg) && trace[j] && !trace[j]!.write && trace[j]!.reg === e.reg) {
    n++;
    j--;
  }
  const select = e.reg === "MsiCmd" ? "MsiVecSel" : e.reg === "QueueMsiControl" ? "QueueSel" : null;
  if (select && trace[j]?.write && trace[j]!.reg === select) n++;
  return n;
}

export function maskCost(trace: readonly TraceEntry[]): MaskCost {
  const cost: MaskCost = { mask: { commands: 0, accesses: 0 }, unmask: { commands: 0, accesses: 0 } };
  trace.forEach((e, i) => {
    const kind = kindOf(e);
    if (!kind) return;
    const c = cost[kind];
    c.commands++;
    c.accesses += 1 + leadingAccesses(trace, i);
  });
  return cost;
}

/** Accesses per irq_mask() call; NaN when there was none to divide by. */
export function perCall(c: CommandCost, calls: number): number {
  return calls > 0 ? c.accesses / calls : Number.NaN;
}

// What masking costs in register accesses, read from a trace of the driver's accesses.
//
// A mask or unmask is a command write (MsiCmd MASK/UNMASK for a table vector, MsiPqCmd
// MASK/UNMASK for a per-queue target) preceded by the write that selects what it acts on
// (MsiVecSel, MsiPqSel). One Linux irq_mask() may send several: with shared per-queue
// interrupts it masks every target the interrupt serves. So the cost per mask is the accesses
// of all mask commands (and their selects) over the number of irq_mask() calls, which is the
// number of interrupts Linux freed (free_irq masks each once) or requested (request_irq
// unmasks each once).

import { MSI_CMD, MSI_PQ_CMD } from "../virtio/constants.ts";
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

const SELECT_FOR: Record<string, string> = { MsiCmd: "MsiVecSel", MsiPqCmd: "MsiPqSel" };

function kindOf(e: TraceEntry): "mask" | "unmask" | null {
  if (!e.write) return null;
  if (e.reg === "MsiCmd") return e.value === MSI_CMD.MASK ? "mask" : e.value === MSI_CMD.UNMASK ? "unmask" : null;
  if (e.reg === "MsiPqCmd") return e.value === MSI_PQ_CMD.MASK ? "mask" : e.value === MSI_PQ_CMD.UNMASK ? "unmask" : null;
  return null;
}

export function maskCost(trace: readonly TraceEntry[]): MaskCost {
  const cost: MaskCost = { mask: { commands: 0, accesses: 0 }, unmask: { commands: 0, accesses: 0 } };
  trace.forEach((e, i) => {
    const kind = kindOf(e);
    if (!kind) return;
    const c = cost[kind];
    c.commands++;
    c.accesses++;
    const prev = trace[i - 1];
    if (prev?.write && prev.reg === SELECT_FOR[e.reg]) c.accesses++;
  });
  return cost;
}

/** Accesses per irq_mask() call; NaN when there was none to divide by. */
export function perCall(c: CommandCost, calls: number): number {
  return calls > 0 ? c.accesses / calls : Number.NaN;
}

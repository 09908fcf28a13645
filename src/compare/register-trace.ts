// A record of one device's register accesses, in order, with the values written: enough to
// tell a MASK from an UNMASK, which the transport's counters (per register) cannot. Installed
// only around a short step (a driver unbind and bind), as an instance property over the
// transport's own read/write that is deleted afterwards, so the hot path is otherwise untouched.

import type { AttachedDevice } from "../machine/machine.ts";
import type { RegisterName } from "../virtio/constants.ts";
import { registerNameAt } from "../virtio/mmio-registers.ts";

export interface TraceEntry {
  readonly write: boolean;
  /** The register's name, or its offset in hex for the config space and holes. */
  readonly reg: RegisterName | string;
  /** The value written, or the value the read returned. */
  readonly value: number;
}

export interface RegisterTrace {
  /** The accesses since the trace began or since the last take(); clears them. */
  take(): TraceEntry[];
  remove(): void;
}

/** At most this many entries are kept between take() calls: a driver bind makes about 150. */
const MAX_ENTRIES = 100_000;

export function traceRegisters(d: AttachedDevice): RegisterTrace {
  let entries: TraceEntry[] = [];
  // Offsets 0x0c0-0x0f8 name different registers in the two MSI layouts: the device's decides.
  const layout = d.transport.state().msiLayout === "2020" ? "2020" : "v3";
  const name = (offset: number) => (offset % 4 === 0 ? registerNameAt(offset, layout) : undefined) ?? `0x${offset.toString(16)}`;
  const transport = d.transport as unknown as Record<string, unknown>;
  const read = d.transport.read.bind(d.transport);
  const write = d.transport.write.bind(d.transport);
  transport["read"] = (offset: number, width: 1 | 2 | 4): number => {
    const value = read(offset, width);
    if (entries.length < MAX_ENTRIES) entries.push({ write: false, reg: name(offset), value });
    return value;
  };
  transport["write"] = (offset: number, width: 1 | 2 | 4, value: number): void => {
    if (entries.length < MAX_ENTRIES) entries.push({ write: true, reg: name(offset), value: value >>> 0 });
    write(offset, width, value);
  };
  return {
    take() {
      const out = entries;
      entries = [];
      return out;
    },
    remove() {
      delete transport["read"];
      delete transport["write"];
    },
  };
}

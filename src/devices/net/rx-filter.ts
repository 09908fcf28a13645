// The receive filter the control queue drives (VIRTIO_NET_F_CTRL_RX, CTRL_MAC_ADDR), and the
// parser/executor of control commands. No I/O: the device reads the command out of the chain
// and writes the ack back.
//
// Choices where the spec is silent (ours, after QEMU):
// - After reset the filter is promiscuous: a driver that never negotiated CTRL_RX cannot ask
//   for anything, so it gets every frame. Linux turns promiscuous mode off when the interface
//   comes up (PROMISC 0, then MAC TABLE_SET with its unicast and multicast lists).
// - A MAC table longer than the limit is an overflow: that class of address (unicast or
//   multicast) is then accepted whole, which is what a filter that cannot hold a list must do.
// - Broadcast always passes (NOBCAST needs CTRL_RX_EXTRA, which we do not offer).

import { CTRL_ACK, CTRL_CLASS, CTRL_HEADER_SIZE, CTRL_MAC, CTRL_RX, ETH_ADDR_SIZE } from "./constants.ts";
import { isBroadcast, isMulticast, macKey } from "./mac.ts";

/** The filter's state as saved (the address itself is saved beside it). */
export interface RxFilterSaved {
  readonly promisc: boolean;
  readonly allmulti: boolean;
  readonly unicastOverflow: boolean;
  readonly multicastOverflow: boolean;
  readonly unicast: readonly number[];
  readonly multicast: readonly number[];
}

export class RxFilter {
  readonly #maxEntries: number;
  /** The NIC's own address (config mac, or what MAC ADDR_SET chose). */
  mac: Uint8Array;
  promisc = true;
  allmulti = false;
  #unicast = new Set<number>();
  #multicast = new Set<number>();
  unicastOverflow = false;
  multicastOverflow = false;
  #macKey: number;

  constructor(mac: Uint8Array, maxEntries = 64) {
    this.mac = Uint8Array.from(mac);
    this.#macKey = macKey(this.mac);
    this.#maxEntries = maxEntries;
  }

  /** Back to the state after reset: promiscuous, empty tables, address `mac`. */
  reset(mac: Uint8Array): void {
    this.setMac(mac);
    this.promisc = true;
    this.allmulti = false;
    this.#unicast.clear();
    this.#multicast.clear();
    this.unicastOverflow = false;
    this.multicastOverflow = false;
  }

  setMac(mac: Uint8Array): void {
    this.mac = Uint8Array.from(mac);
    this.#macKey = macKey(this.mac);
  }

  get unicastEntries(): number {
    return this.#unicast.size;
  }
  get multicastEntries(): number {
    return this.#multicast.size;
  }

  /** Replaces both tables (MAC TABLE_SET); a list over the limit overflows its class. */
  setTables(unicast: readonly Uint8Array[], multicast: readonly Uint8Array[]): void {
    this.#unicast.clear();
    this.#multicast.clear();
    this.unicastOverflow = unicast.length > this.#maxEntries;
    this.multicastOverflow = multicast.length > this.#maxEntries;
    if (!this.unicastOverflow) for (const m of unicast) this.#unicast.add(macKey(m));
    if (!this.multicastOverflow) for (const m of multicast) this.#multicast.add(macKey(m));
  }

  /** The tables as address keys (macKey), for a saved state (device-state.ts). */
  get tableKeys(): { unicast: number[]; multicast: number[] } {
    return { unicast: [...this.#unicast], multicast: [...this.#multicast] };
  }

  /** Restore hook: the saved filter, checked by the caller (keys are 48-bit, at most maxEntries each). */
  restore(s: RxFilterSaved): void {
    this.promisc = s.promisc;
    this.allmulti = s.allmulti;
    this.unicastOverflow = s.unicastOverflow;
    this.multicastOverflow = s.multicastOverflow;
    this.#unicast = new Set(s.unicast);
    this.#multicast = new Set(s.multicast);
  }

  get maxEntries(): number {
    return this.#maxEntries;
  }

  /** Whether a frame (destination address in its first six bytes) reaches the guest. */
  accepts(frame: Uint8Array): boolean {
    if (this.promisc) return true;
    if (isMulticast(frame)) {
      if (isBroadcast(frame)) return true;
      return this.allmulti || this.multicastOverflow || this.#multicast.has(macKey(frame));
    }
    const key = macKey(frame);
    return key === this.#macKey || this.unicastOverflow || this.#unicast.has(key);
  }
}

/** Why a control command got ERR. */
export type CtrlErrorKind =
  | "short" // fewer than two bytes: no class and command
  | "unsupported" // unknown class or command, or one whose feature was not negotiated
  | "bad-length" // the command's data has the wrong size
  | "bad-mac"; // ADDR_SET with a multicast address

export interface CtrlFeatures {
  readonly ctrlRx: boolean;
  readonly ctrlMacAddr: boolean;
}

export interface CtrlOutcome {
  readonly ack: number;
  readonly error: CtrlErrorKind | null;
  /** "rx.promisc", "mac.addr_set", ... for counters; null when the command was unknown. */
  readonly command: "rx.promisc" | "rx.allmulti" | "mac.table_set" | "mac.addr_set" | null;
}

/**
 * Runs one control command (`bytes` = everything the driver made readable: class, command,
 * data) against the filter. ADDR_SET calls `setMac` after the filter took the new address.
 */
export function executeCtrl(bytes: Uint8Array, filter: RxFilter, f: CtrlFeatures, setMac: (mac: Uint8Array) => void): CtrlOutcome {
  const err = (error: CtrlErrorKind, command: CtrlOutcome["command"] = null): CtrlOutcome => ({ ack: CTRL_ACK.ERR, error, command });
  const ok = (command: CtrlOutcome["command"]): CtrlOutcome => ({ ack: CTRL_ACK.OK, error: null, command });
  if (bytes.length < CTRL_HEADER_SIZE) return err("short");
  const cls = bytes[0]!;
  const cmd = bytes[1]!;
  const data = bytes.subarray(CTRL_HEADER_SIZE);
  if (cls === CTRL_CLASS.RX && f.ctrlRx && (cmd === CTRL_RX.PROMISC || cmd === CTRL_RX.ALLMULTI)) {
    const command = cmd === CTRL_RX.PROMISC ? "rx.promisc" : "rx.allmulti";
    if (data.length !== 1) return err("bad-length", command);
    if (cmd === CTRL_RX.PROMISC) filter.promisc = data[0] !== 0;
    else filter.allmulti = data[0] !== 0;
    return ok(command);
  }
  if (cls === CTRL_CLASS.MAC && cmd === CTRL_MAC.ADDR_SET && f.ctrlMacAddr) {
    if (data.length !== ETH_ADDR_SIZE) return err("bad-length", "mac.addr_set");
    if (isMulticast(data)) return err("bad-mac", "mac.addr_set");
    filter.setMac(data);
    setMac(Uint8Array.from(data));
    return ok("mac.addr_set");
  }
  if (cls === CTRL_CLASS.MAC && cmd === CTRL_MAC.TABLE_SET && f.ctrlRx) {
    const tables = parseMacTables(data);
    if (tables === null) return err("bad-length", "mac.table_set");
    filter.setTables(tables[0], tables[1]);
    return ok("mac.table_set");
  }
  return err("unsupported");
}

/** Two virtio_net_ctrl_mac tables back to back (entries u32 LE, then entries * 6 bytes), exactly. */
export function parseMacTables(data: Uint8Array): [Uint8Array[], Uint8Array[]] | null {
  const out: [Uint8Array[], Uint8Array[]] = [[], []];
  let at = 0;
  for (const table of out) {
    if (at + 4 > data.length) return null;
    const n = (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
    at += 4;
    // Checked against what is left before anything is allocated: a huge count cannot cost memory.
    if (n > (data.length - at) / ETH_ADDR_SIZE) return null;
    for (let i = 0; i < n; i++, at += ETH_ADDR_SIZE) table.push(data.subarray(at, at + ETH_ADDR_SIZE));
  }
  return at === data.length ? out : null;
}

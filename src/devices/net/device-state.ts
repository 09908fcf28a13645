// The saved state of a virtio-net device (the transport's is src/virtio/transport-state.ts):
// what the driver set or was told (the address, the receive filter, the link, config
// generation) and the frames waiting for receive buffers. Rules:
// - Receive buffers the device had taken but not filled are taken again from the ring after
//   the restore (the transport's rule: the device fills them in ring order).
// - Waiting frames travel with the state, within this device's backlog limits.
// - Counters are not saved, and the backend is the new machine's: it reconnects on its own.
// A state is checked in full (checkNetState) before the transport is restored; it is applied
// (applyNetState) after, because the transport's restore resets and activates the device.
// The one persistence shape (src/virtio/persist.ts): netPersist(d).

import { formatMac, parseMac } from "./mac.ts";
import type { NetDevice, NetGuestState } from "./device.ts";
import { ETH_HEADER_SIZE, VLAN_TAG_SIZE } from "./constants.ts";
import { rxFrameRefusal } from "./receive.ts";
import type { RxFilterSaved } from "./rx-filter.ts";
import type { Persist } from "../../virtio/persist.ts";

export const NET_STATE_KIND = "virtio-net";
export const NET_STATE_VERSION = 1;

export interface NetSavedState {
  readonly kind: typeof NET_STATE_KIND;
  readonly version: typeof NET_STATE_VERSION;
  /** Offered features, hex, and queue sizes: a state of a differently built NIC is refused. */
  readonly features: string;
  readonly queueMaxSizes: readonly number[];
  readonly mtu: number;
  readonly mac: string;
  readonly linkUp: boolean;
  readonly configGeneration: number;
  /** The receive filter (its unicast and multicast entries are 48-bit address keys). */
  readonly filter: RxFilterSaved;
  /** Waiting frames, hex. */
  readonly backlog: readonly string[];
}

/** A checked state, ready for applyNetState. */
export interface CheckedNetState {
  readonly guest: NetGuestState;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export function saveNetState(d: NetDevice): NetSavedState {
  const g = d.guestState();
  return {
    kind: NET_STATE_KIND,
    version: NET_STATE_VERSION,
    features: `0x${d.features.toString(16)}`,
    queueMaxSizes: [...d.queueMaxSizes],
    mtu: d.mtu,
    mac: formatMac(g.mac),
    linkUp: g.linkUp,
    configGeneration: g.configGeneration,
    filter: { ...g.filter, unicast: [...g.filter.unicast], multicast: [...g.filter.multicast] },
    backlog: g.backlog.map(hex),
  };
}

/** Checks `input` against device `d`; throws an Error naming the field. Changes nothing. */
export function checkNetState(d: NetDevice, input: unknown): CheckedNetState {
  const fail = (path: string, what: string): never => {
    throw new Error(`saved virtio-net state refused for ${d.name}: ${path}: ${what}`);
  };
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const bool = (v: unknown, path: string): boolean => (typeof v === "boolean" ? v : fail(path, "expected true or false"));
  if (!isObj(input)) return fail("state", "expected an object");
  const o = input;
  if (o.kind !== NET_STATE_KIND) fail("kind", `expected "${NET_STATE_KIND}", got ${JSON.stringify(o.kind)}`);
  if (o.version !== NET_STATE_VERSION) fail("version", `expected ${NET_STATE_VERSION}, got ${JSON.stringify(o.version)}`);
  const keys = ["kind", "version", "features", "queueMaxSizes", "mtu", "mac", "linkUp", "configGeneration", "filter", "backlog"];
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(k, "unknown field");
  const features = `0x${d.features.toString(16)}`;
  if (o.features !== features) fail("features", `saved ${String(o.features)}, this NIC offers ${features}`);
  if (JSON.stringify(o.queueMaxSizes) !== JSON.stringify(d.queueMaxSizes)) fail("queueMaxSizes", `saved ${JSON.stringify(o.queueMaxSizes)}, this NIC has ${JSON.stringify(d.queueMaxSizes)}`);
  if (o.mtu !== d.mtu) fail("mtu", `saved ${String(o.mtu)}, this NIC has ${d.mtu}`);
  let mac: Uint8Array;
  try {
    mac = parseMac(typeof o.mac === "string" ? o.mac : "");
  } catch {
    return fail("mac", `not an address: ${JSON.stringify(o.mac)}`);
  }
  const linkUp = bool(o.linkUp, "linkUp");
  const gen = o.configGeneration;
  if (typeof gen !== "number" || !Number.isInteger(gen) || gen < 0 || gen > 0xffffffff) fail("configGeneration", "expected a u32");
  if (!isObj(o.filter)) return fail("filter", "expected an object");
  const f = o.filter;
  const fkeys = ["promisc", "allmulti", "unicastOverflow", "multicastOverflow", "unicast", "multicast"];
  for (const k of Object.keys(f)) if (!fkeys.includes(k)) fail(`filter.${k}`, "unknown field");
  const limits = d.stateLimits;
  const table = (v: unknown, path: string): number[] => {
    if (!Array.isArray(v) || v.length > limits.macTableEntries) return fail(path, `expected at most ${limits.macTableEntries} addresses`);
    return v.map((k: unknown, i) =>
      typeof k === "number" && Number.isInteger(k) && k >= 0 && k < 2 ** 48 ? k : fail(`${path}[${i}]`, "expected a 48-bit address key"),
    );
  };
  const filter = {
    promisc: bool(f.promisc, "filter.promisc"),
    allmulti: bool(f.allmulti, "filter.allmulti"),
    unicastOverflow: bool(f.unicastOverflow, "filter.unicastOverflow"),
    multicastOverflow: bool(f.multicastOverflow, "filter.multicastOverflow"),
    unicast: table(f.unicast, "filter.unicast"),
    multicast: table(f.multicast, "filter.multicast"),
  };
  if (!Array.isArray(o.backlog) || o.backlog.length > limits.backlogFrames) fail("backlog", `expected at most ${limits.backlogFrames} frames`);
  // Longest hex text a frame can be, checked before decoding it.
  const maxHex = 2 * (d.mtu + ETH_HEADER_SIZE + VLAN_TAG_SIZE);
  let bytes = 0;
  const backlog = (o.backlog as unknown[]).map((v, i) => {
    if (typeof v !== "string" || v.length % 2 !== 0 || !/^[0-9a-f]*$/.test(v)) return fail(`backlog[${i}]`, "expected hex bytes");
    const n = v.length / 2;
    if (v.length > maxHex) fail(`backlog[${i}]`, `a frame of ${n} bytes, over any frame at MTU ${d.mtu} (tooBig)`);
    const frame = Uint8Array.from({ length: n }, (_, k) => parseInt(v.slice(2 * k, 2 * k + 2), 16));
    // The receive path's own rule: a frame it would have dropped never waited in the backlog.
    const refused = rxFrameRefusal(frame, d.mtu);
    if (refused !== null) fail(`backlog[${i}]`, `${refused.why} (${refused.counter})`);
    bytes += n;
    return frame;
  });
  if (bytes > limits.backlogBytes) fail("backlog", `${bytes} bytes over this NIC's ${limits.backlogBytes}`);
  return { guest: { mac, linkUp, configGeneration: gen as number, filter, backlog } };
}

/** Applies a checked state, after the transport's restore (which reset and activated the device). */
export function applyNetState(d: NetDevice, s: CheckedNetState): void {
  d.restoreGuestState(s.guest);
}

export function netPersist(d: NetDevice): Persist<NetSavedState, CheckedNetState> {
  return { save: () => saveNetState(d), check: (input) => checkNetState(d, input), apply: (s) => applyNetState(d, s) };
}

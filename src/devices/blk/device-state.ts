// The saved state of a virtio-blk device (the transport's is src/virtio/transport-state.ts).
// The device keeps nothing of the guest's beyond its queues, which the transport restores: its
// configuration space is fixed at construction. So the state is the rule and a fingerprint:
// - A save is taken only with no request in flight (`BlockDevice.quiesce()` first): a request
//   completed before the save is on the used ring (in RAM) and its data in the backend; one not
//   yet taken is still on the avail ring. Nothing is lost, nothing done twice.
// - The configuration space travels with the state and must match byte for byte on restore, so
//   a state is never put on a disk of another size, geometry or read-only flag.
// The disk's bytes are the backend's business (they travel beside this, or by reference).
// The one persistence shape (src/virtio/persist.ts): blockPersist(d) saves, checks, applies;
// applying a checked state sets nothing, since a matching device is already in that state.

import type { BlockDevice } from "./device.ts";
import type { Persist } from "../../virtio/persist.ts";

export const BLOCK_STATE_KIND = "virtio-blk";
export const BLOCK_STATE_VERSION = 1;

export interface BlockSavedState {
  readonly kind: typeof BLOCK_STATE_KIND;
  readonly version: typeof BLOCK_STATE_VERSION;
  /** Offered features, hex. */
  readonly features: string;
  readonly queues: number;
  /** The configuration space, hex. */
  readonly config: string;
}

function configHex(d: BlockDevice): string {
  let hex = "";
  for (let i = 0; i < d.configSize; i++) hex += d.readConfig(i, 1).toString(16).padStart(2, "0");
  return hex;
}

/** The device's state; throws while requests are in flight (await `quiesce()` first). */
export function saveBlockState(d: BlockDevice): BlockSavedState {
  const n = d.inFlightRequests;
  if (n > 0) throw new Error(`${d.name}: ${n} request(s) in flight: await quiesce() before saving`);
  return {
    kind: BLOCK_STATE_KIND,
    version: BLOCK_STATE_VERSION,
    features: `0x${d.features.toString(16)}`,
    queues: d.queueMaxSizes.length,
    config: configHex(d),
  };
}

/** A state checkBlockState() accepted: the device it was checked against is in it. */
export interface CheckedBlockState {
  readonly state: BlockSavedState;
}

/**
 * Checks a saved state against device `d` (before its transport is restored); throws an Error
 * saying what differs. Changes nothing.
 */
export function checkBlockState(d: BlockDevice, input: unknown): CheckedBlockState {
  const fail = (what: string): never => {
    throw new Error(`saved virtio-blk state refused for ${d.name}: ${what}`);
  };
  if (typeof input !== "object" || input === null || Array.isArray(input)) fail("expected an object");
  const o = input as Record<string, unknown>;
  if (o.kind !== BLOCK_STATE_KIND) fail(`kind: expected "${BLOCK_STATE_KIND}", got ${JSON.stringify(o.kind)}`);
  if (o.version !== BLOCK_STATE_VERSION) fail(`version: expected ${BLOCK_STATE_VERSION}, got ${JSON.stringify(o.version)}`);
  const keys = ["kind", "version", "features", "queues", "config"];
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${k}: unknown field`);
  const features = `0x${d.features.toString(16)}`;
  if (o.features !== features) fail(`features: saved ${String(o.features)}, this disk offers ${features}`);
  if (o.queues !== d.queueMaxSizes.length) fail(`queues: saved ${String(o.queues)}, this disk has ${d.queueMaxSizes.length}`);
  if (o.config !== configHex(d)) fail("config: another disk (size, geometry or limits differ)");
  if (d.inFlightRequests > 0) fail("this device has requests in flight");
  return { state: o as unknown as BlockSavedState };
}

/** Nothing to set: the device matches the state (configuration space, features, queues). */
export function applyBlockState(_d: BlockDevice, _s: CheckedBlockState): void {}

/** Checks and applies: for a device alone (a machine checks all its devices first). */
export function restoreBlockState(d: BlockDevice, input: unknown): void {
  applyBlockState(d, checkBlockState(d, input));
}

export function blockPersist(d: BlockDevice): Persist<BlockSavedState, CheckedBlockState> {
  return { save: () => saveBlockState(d), check: (input) => checkBlockState(d, input), apply: (s) => applyBlockState(d, s) };
}

// The driver's side of bringing a device up: the Status register's state machine and the feature
// negotiation it gates (virtio 1.2 §2.1, §3.1.1). The driver sets ACKNOWLEDGE, DRIVER, writes
// its features (only between DRIVER and FEATURES_OK), sets FEATURES_OK (which does not stick if
// it asked for anything not offered, or not for VERSION_1), then DRIVER_OK. Bits are only added,
// in that order; writing 0 resets. DEVICE_NEEDS_RESET is the device's bit: the driver's writes
// never set or clear it. What a status write leads to (reset, activation) the transport does.

import { FEATURE, STATUS } from "./constants.ts";

/** Bits the driver may write to Status; DEVICE_NEEDS_RESET belongs to the device. */
export const DRIVER_STATUS_BITS = STATUS.ACKNOWLEDGE | STATUS.DRIVER | STATUS.FEATURES_OK | STATUS.DRIVER_OK | STATUS.FAILED;

/** The guest errors counted here (the transport's error counters, counted in place). */
/** A refused value: why, under the counter the register path counts. */
export interface Refusal<C extends string> {
  readonly counter: C;
  readonly why: string;
}

/**
 * The Status rule (virtio 1.2 §2.1, §3.1.1): only the driver's bits, each step only after the
 * one before (DRIVER after ACKNOWLEDGE, FEATURES_OK after DRIVER, DRIVER_OK after
 * FEATURES_OK). Null when `bits` (DEVICE_NEEDS_RESET taken out) is a Status the driver may
 * hold. The one copy: write() counts it, a saved state's check (transport-state.ts) refuses
 * with it.
 */
export function statusRefusal(bits: number): Refusal<"badStatus"> | null {
  if ((bits & ~DRIVER_STATUS_BITS) !== 0) return { counter: "badStatus", why: `unknown bits in ${bits}` };
  const ordered =
    (!(bits & STATUS.DRIVER) || bits & STATUS.ACKNOWLEDGE) &&
    (!(bits & STATUS.FEATURES_OK) || bits & STATUS.DRIVER) &&
    (!(bits & STATUS.DRIVER_OK) || bits & STATUS.FEATURES_OK);
  return ordered ? null : { counter: "badStatus", why: `bits ${bits} out of the init order` };
}

/**
 * The FEATURES_OK rule: the driver accepted only offered features, and VERSION_1. The one
 * copy: write() clears FEATURES_OK and counts it, a saved state's check refuses with it.
 */
export function featuresRefusal(driver: bigint, offered: bigint): Refusal<"featuresRejected"> | null {
  if ((driver & ~offered) !== 0n) return { counter: "featuresRejected", why: "features the device does not offer" };
  if ((driver & FEATURE.VERSION_1) === 0n) return { counter: "featuresRejected", why: "FEATURES_OK without VERSION_1" };
  return null;
}

export interface DeviceStatusErrors {
  badStatus: number;
  featuresRejected: number;
  featuresLocked: number;
  badFeatureSel: number;
}

/** What a write to Status asks of the transport. */
export type StatusWriteResult = "none" | "reset" | "activate";

/** The registers as a saved state holds them (transport-state.ts). */
export interface DeviceStatusSaved {
  readonly status: number;
  readonly deviceFeaturesSel: number;
  readonly driverFeaturesSel: number;
  readonly driverFeatures: readonly [number, number];
}

export class DeviceStatus {
  readonly #offered: bigint;
  readonly #errors: DeviceStatusErrors;
  #status = 0;
  #deviceFeaturesSel = 0;
  #driverFeaturesSel = 0;
  readonly #driverFeatures = new Uint32Array(2);

  constructor(offeredFeatures: bigint, errors: DeviceStatusErrors) {
    this.#offered = offeredFeatures;
    this.#errors = errors;
  }

  /** The Status register. */
  get status(): number {
    return this.#status;
  }

  /** The features the driver wrote, whether or not FEATURES_OK stuck. */
  get driverFeatures(): bigint {
    return (BigInt(this.#driverFeatures[1]!) << 32n) | BigInt(this.#driverFeatures[0]!);
  }

  /** The driver's features once FEATURES_OK stuck, else 0. */
  get negotiatedFeatures(): bigint {
    return this.#status & STATUS.FEATURES_OK ? this.driverFeatures : 0n;
  }

  /** FEATURES_OK stuck with `feature` among the driver's features. */
  negotiated(feature: bigint): boolean {
    return (this.#status & STATUS.FEATURES_OK) !== 0 && (this.driverFeatures & feature) !== 0n;
  }

  /** The DeviceFeatures register: the selected word of the offered features (0 beyond word 1). */
  get deviceFeaturesRegister(): number {
    const sel = this.#deviceFeaturesSel;
    return sel > 1 ? 0 : Number((this.#offered >> BigInt(32 * sel)) & 0xffffffffn);
  }

  selectDeviceFeatures(value: number): void {
    this.#deviceFeaturesSel = value;
  }

  selectDriverFeatures(value: number): void {
    this.#driverFeaturesSel = value;
  }

  writeDriverFeatures(value: number): void {
    const s = this.#status;
    if ((s & STATUS.DRIVER) === 0 || (s & STATUS.FEATURES_OK) !== 0) {
      this.#errors.featuresLocked++;
      return;
    }
    if (this.#driverFeaturesSel > 1) {
      // Words beyond 1 hold nothing we offer; only a non-zero value is a claim we refuse.
      if (value !== 0) this.#errors.badFeatureSel++;
      return;
    }
    this.#driverFeatures[this.#driverFeaturesSel] = value;
  }

  /**
   * A driver's write to Status. 0 asks for a reset (the caller does it, then calls reset()); an
   * invalid transition is counted and ignored; DRIVER_OK newly set asks for activation.
   */
  write(value: number): StatusWriteResult {
    if (value === 0) return "reset";
    const cur = this.#status & DRIVER_STATUS_BITS;
    // The driver writes back what it read, DEVICE_NEEDS_RESET included: that bit is ignored.
    let next = value & ~STATUS.DEVICE_NEEDS_RESET;
    if (statusRefusal(next) !== null || (next & cur) !== cur) {
      this.#errors.badStatus++;
      return "none";
    }
    const added = next & ~cur;
    if (added & STATUS.FEATURES_OK && !this.#featuresAcceptable()) {
      // FEATURES_OK does not stick; the driver reads it back clear and gives up.
      this.#errors.featuresRejected++;
      next &= ~(STATUS.FEATURES_OK | STATUS.DRIVER_OK);
    }
    this.#status = next | (this.#status & STATUS.DEVICE_NEEDS_RESET);
    return next & added & STATUS.DRIVER_OK ? "activate" : "none";
  }

  /** Sets DEVICE_NEEDS_RESET; false if it was already set (the driver was told before). */
  setNeedsReset(): boolean {
    if (this.#status & STATUS.DEVICE_NEEDS_RESET) return false;
    this.#status |= STATUS.DEVICE_NEEDS_RESET;
    return true;
  }

  reset(): void {
    this.#status = 0;
    this.#deviceFeaturesSel = 0;
    this.#driverFeaturesSel = 0;
    this.#driverFeatures.fill(0);
  }

  save(): DeviceStatusSaved {
    return {
      status: this.#status,
      deviceFeaturesSel: this.#deviceFeaturesSel,
      driverFeaturesSel: this.#driverFeaturesSel,
      driverFeatures: [this.#driverFeatures[0]!, this.#driverFeatures[1]!],
    };
  }

  /** Puts saved registers in place; the caller checked them (transport-state.ts). */
  restore(s: DeviceStatusSaved): void {
    this.#status = s.status;
    this.#deviceFeaturesSel = s.deviceFeaturesSel;
    this.#driverFeaturesSel = s.driverFeaturesSel;
    this.#driverFeatures[0] = s.driverFeatures[0];
    this.#driverFeatures[1] = s.driverFeatures[1];
  }

  #featuresAcceptable(): boolean {
    return featuresRefusal(this.driverFeatures, this.#offered) === null;
  }
}

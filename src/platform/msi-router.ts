// Turns device bus writes that fall in 0xFEE00000-0xFEEFFFFF into local-APIC interrupts.
// One emulated CPU: a message is delivered when its destination names this CPU's local APIC
// as the SDM's destination rules say, and its delivery mode and vector are ones a fixed or
// lowest-priority interrupt may carry. Everything else is counted by reason and dropped.

import { DELIVERY_MODE, DELIVERY_MODE_NAMES, decodeMsiInto, newMsiMessage, type MsiMessage } from "./msi-message.ts";
import type { LocalApicPort } from "./local-apic.ts";

export type MsiOutcome =
  | "delivered"
  | "coalesced" // the vector was already pending: the two requests merge, as on hardware
  | "not-msi"
  | "no-destination"
  | "illegal-vector"
  | "unsupported-delivery-mode"
  | "level-deassert"
  | "apic-disabled";

export interface MsiRouterCounters {
  messages: number;
  delivered: number;
  coalesced: number;
  dropped: number;
  droppedByReason: Record<Exclude<MsiOutcome, "delivered" | "coalesced">, number>;
  /** Delivered (or coalesced) messages per vector, 256 entries. */
  perVector: Uint32Array;
}

export interface MsiDrop {
  readonly addr: number;
  readonly data: number;
  readonly reason: MsiOutcome;
  readonly detail: string;
}

const BROADCAST = 0xff;
const DFR_FLAT = 0xf;

/** Does `m`'s destination name the local APIC? (Intel SDM vol. 3, 10.6.2 / 10.11.1) */
export function destinationMatches(m: MsiMessage, apic: LocalApicPort): boolean {
  if (!m.logical) return m.destination === BROADCAST || m.destination === apic.id;
  if (m.destination === BROADCAST) return true;
  if (apic.destinationModel === DFR_FLAT) return (m.destination & apic.logicalId) !== 0;
  // Cluster model: high nibble selects the cluster, low nibble is a bitmap within it.
  return (
    (m.destination & 0xf0) === (apic.logicalId & 0xf0) && (m.destination & apic.logicalId & 0x0f) !== 0
  );
}

export class MsiRouter {
  readonly #apic: LocalApicPort;
  readonly #schedulePoke: (poke: () => void) => void;
  readonly counters: MsiRouterCounters = {
    messages: 0,
    delivered: 0,
    coalesced: 0,
    dropped: 0,
    droppedByReason: {
      "not-msi": 0,
      "no-destination": 0,
      "illegal-vector": 0,
      "unsupported-delivery-mode": 0,
      "level-deassert": 0,
      "apic-disabled": 0,
    },
    perVector: new Uint32Array(256),
  };
  /** The most recent drops, for the UI and for test diagnostics (bounded). */
  readonly recentDrops: MsiDrop[] = [];
  #pokeArmed = false;
  /** Decoded into for each write: route() and #drop() use it synchronously and keep nothing. */
  readonly #message = newMsiMessage();

  /**
   * @param schedulePoke runs the given function now, or after the guest's current MMIO access
   *   when the platform's rule says the CPU must not take an interrupt yet (InterruptGate).
   */
  constructor(apic: LocalApicPort, schedulePoke: (poke: () => void) => void) {
    this.#apic = apic;
    this.#schedulePoke = schedulePoke;
  }

  /** A bus write of `data` to `addr`. Returns false when the write is not an MSI (not claimed). */
  write(addr: number, data: number): boolean {
    const m = this.#message;
    if (!decodeMsiInto(addr, data, m)) return false;
    this.counters.messages++;
    const outcome = this.route(m);
    if (outcome === "delivered" || outcome === "coalesced") {
      this.counters[outcome]++;
      this.counters.perVector[m.vector]!++;
      this.#armPoke();
    } else {
      this.#drop(addr, data, outcome, m);
    }
    return true;
  }

  route(m: MsiMessage): MsiOutcome {
    if (m.deliveryMode !== DELIVERY_MODE.FIXED && m.deliveryMode !== DELIVERY_MODE.LOWEST_PRIORITY) {
      return "unsupported-delivery-mode";
    }
    if (m.level && !m.assert) return "level-deassert";
    if (m.vector < 16) return "illegal-vector";
    if (!this.#apic.softwareEnabled) return "apic-disabled";
    if (!destinationMatches(m, this.#apic)) return "no-destination";
    return this.#apic.setPending(m.vector, m.level) ? "delivered" : "coalesced";
  }

  #armPoke(): void {
    if (this.#pokeArmed) return;
    this.#pokeArmed = true;
    this.#schedulePoke(() => {
      this.#pokeArmed = false;
      this.#apic.poke();
    });
  }

  #drop(addr: number, data: number, reason: MsiOutcome, m: MsiMessage): void {
    this.counters.dropped++;
    if (reason !== "delivered" && reason !== "coalesced") this.counters.droppedByReason[reason]++;
    const detail =
      `vector ${m.vector}, ${DELIVERY_MODE_NAMES[m.deliveryMode]}, ` +
      `${m.logical ? "logical" : "physical"} destination 0x${m.destination.toString(16)}`;
    this.recentDrops.push({ addr, data, reason, detail });
    if (this.recentDrops.length > 32) this.recentDrops.shift();
  }
}

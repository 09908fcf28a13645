// The record of undelivered events: one flag per event source (config changes, and each
// queue's used buffers), kept the same way whatever the interrupt mode. An event is recorded
// when the device signals it and stays recorded until it has reached the driver: a message sent
// for it (MSI), or the driver's InterruptACK of its bit (line), or a device reset. The modes only
// differ in how the record is shown to the driver: as InterruptStatus bits with the line, or as
// the pending bits of the vectors the sources are mapped to with MSI. So a mode change has
// nothing to move and nothing to lose (docs/virtio-mmio-msi.md, "Undelivered events").

/** What a device signals: a configuration change, or used buffers on one queue. */
export type InterruptEvent =
  | { readonly kind: "config" }
  | { readonly kind: "queue"; readonly queue: number };

/** The configuration-change event (one object, reused). */
export const CONFIG_CHANGE: InterruptEvent = Object.freeze({ kind: "config" });

export class EventRecord {
  /** Every source of the device, config first, then queue 0, 1, ...: the objects to reuse. */
  readonly sources: readonly InterruptEvent[];
  /** One byte per source, in the order of `sources`. */
  readonly #undelivered: Uint8Array;
  #count = 0;

  constructor(queues: number) {
    const sources: InterruptEvent[] = [CONFIG_CHANGE];
    for (let q = 0; q < queues; q++) sources.push(Object.freeze({ kind: "queue", queue: q }));
    this.sources = sources;
    this.#undelivered = new Uint8Array(sources.length);
  }

  /** Queue `index`'s event object, or undefined when the device has no such queue. */
  queue(index: number): InterruptEvent | undefined {
    return Number.isInteger(index) && index >= 0 ? this.sources[1 + index] : undefined;
  }

  has(e: InterruptEvent): boolean {
    return this.#undelivered[this.#slot(e)] === 1;
  }

  /** Records an event; false (nothing recorded) for a queue the device does not have. */
  add(e: InterruptEvent): boolean {
    const s = this.#slot(e);
    if (s < 0) return false;
    if (this.#undelivered[s] === 0) {
      this.#undelivered[s] = 1;
      this.#count++;
    }
    return true;
  }

  /** The event reached the driver. True when it was recorded. */
  delete(e: InterruptEvent): boolean {
    const s = this.#slot(e);
    if (s < 0 || this.#undelivered[s] === 0) return false;
    this.#undelivered[s] = 0;
    this.#count--;
    return true;
  }

  /** Clears every queue's event (an ACK of the used-buffer bit). True when any was recorded. */
  deleteQueues(): boolean {
    let any = false;
    for (let s = 1; s < this.#undelivered.length; s++) {
      if (this.#undelivered[s] === 0) continue;
      this.#undelivered[s] = 0;
      this.#count--;
      any = true;
    }
    return any;
  }

  /** Number of sources with an undelivered event. */
  get size(): number {
    return this.#count;
  }

  /** Some queue has an undelivered event (InterruptStatus bit 0 with the line). */
  get anyQueue(): boolean {
    return this.#count > this.#undelivered[0]!;
  }

  clear(): void {
    this.#undelivered.fill(0);
    this.#count = 0;
  }

  #slot(e: InterruptEvent): number {
    if (e.kind === "config") return 0;
    const q = e.queue;
    return Number.isInteger(q) && q >= 0 && q < this.#undelivered.length - 1 ? 1 + q : -1;
  }
}

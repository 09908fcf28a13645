// The contracts between the pieces of the virtio stack. No DOM, no v86 here:
// the same code runs in the browser, under Node and in unit tests.
//
//   device (blk, net)  --uses-->  Virtqueue, DescriptorChain, GuestMemory, Interrupts
//   transport (mmio)   --drives-> VirtioDevice; implements Interrupts (line or MSI)
//   platform (v86)     --provides-> GuestMemory, InterruptLine

/** Guest physical memory as a bus-mastering device sees it. */
export interface GuestMemory {
  /** Bytes of RAM, from physical address 0. */
  readonly size: number;
  /**
   * A live view of RAM [addr, addr + len) for reading, or null when any byte of it lies
   * outside RAM (or addr/len are not non-negative integers). Never write through it: use
   * `write`, which also tells the emulator that the bytes changed.
   */
  view(addr: number, len: number): Uint8Array | null;
  /** Copies `data` into RAM at addr; false (nothing written) when it does not fit in RAM. */
  write(addr: number, data: Uint8Array): boolean;
  /** Little-endian RAM stores; false (nothing written) when out of RAM. */
  writeU16(addr: number, value: number): boolean;
  writeU32(addr: number, value: number): boolean;
  /** Little-endian RAM loads; null when out of RAM. */
  readU16(addr: number): number | null;
  readU32(addr: number): number | null;
  /**
   * A 32-bit memory write issued by the device as bus master, the way an MSI travels. RAM
   * addresses land in RAM; the platform claims other ranges (0xFEE00000-0xFEEFFFFF become
   * local-APIC interrupts). False when nothing accepted the write.
   */
  busWrite32(addr: number, value: number): boolean;
  /**
   * Optional bulk copies (RamMemory has them): RAM [addr, addr + n) into dest[at..], and
   * src[at, at + n) into RAM at addr. False (nothing copied) when a range leaves RAM or the array.
   * The split queue uses them, when present, instead of a view or subarray per segment.
   */
  copyOut?(addr: number, dest: Uint8Array, at: number, n: number): boolean;
  copyIn?(addr: number, src: Uint8Array, at: number, n: number): boolean;
}

/** How a device asks for attention. The transport decides whether it leaves as a line or an MSI. */
export interface Interrupts {
  /** Used buffers were added to queue `index` (after event-idx suppression was applied). */
  queue(index: number): void;
  /**
   * The device configuration changed and the driver must be told: a config interrupt (the
   * transport also moves ConfigGeneration). A change the driver need not be interrupted for
   * moves the device's own `configGeneration` instead.
   */
  config(): void;
}

/** One interrupt line (an IO-APIC input), owned by the platform. */
export interface InterruptLine {
  raise(): void;
  lower(): void;
}

/** A run of guest RAM that a descriptor names; already checked to lie inside RAM. */
export interface Segment {
  readonly addr: number;
  readonly len: number;
}

/** A descriptor chain taken from the available ring, validated. */
export interface DescriptorChain {
  /** Head descriptor index, returned in the used ring. */
  readonly head: number;
  /** Driver-to-device buffers, in order. */
  readonly readable: readonly Segment[];
  /** Device-to-driver buffers, in order (all after the readable ones). */
  readonly writable: readonly Segment[];
  readonly readableLength: number;
  readonly writableLength: number;
}

/** The device's side of one split virtqueue. */
export interface Virtqueue {
  readonly index: number;
  readonly size: number;
  /**
   * The next available chain, or null when there is none. A malformed chain (loop, out of RAM,
   * bad lengths, nested indirect table...) is counted; the queue is then marked broken and the
   * transport sets DEVICE_NEEDS_RESET, so pop() returns null from then on.
   */
  pop(): DescriptorChain | null;
  /** Puts a chain on the used ring with the number of bytes the device wrote into it. */
  push(chain: DescriptorChain, written: number): void;
  /** Interrupts the driver for this queue unless event-idx or the no-interrupt flag says not to. */
  signalUsed(): void;
  /** Copies up to `dest.length` readable bytes starting at `offset` within the chain; returns bytes copied. */
  readFrom(chain: DescriptorChain, offset: number, dest: Uint8Array): number;
  /** Copies `src` into the chain's writable bytes starting at `offset`; returns bytes copied. */
  writeTo(chain: DescriptorChain, offset: number, src: Uint8Array): number;
}

/** What a device gets when the driver sets DRIVER_OK. */
export interface ActivationContext {
  readonly memory: GuestMemory;
  /** Negotiated features (the device's bits the driver accepted). */
  readonly features: bigint;
  /**
   * The queues the driver made ready, in ascending index order; a queue the driver did not set
   * up is absent, so look queues up by `Virtqueue.index`, not by position.
   */
  readonly queues: readonly Virtqueue[];
  /** Valid until the next reset; calls made through it after a reset are ignored. */
  readonly interrupts: Interrupts;
  /**
   * Queues reset (QueueReset) and not yet set up again: only when a saved state is restored in
   * the middle of a queue reset. The device treats them as set up and reset (no Virtqueue
   * yet); `enableQueue` brings each back. Absent or empty at an ordinary DRIVER_OK.
   */
  readonly reopened?: readonly number[];
}

/** A virtio device, independent of the transport that carries it. */
export interface VirtioDevice {
  /** Short name for counters and the UI, for example "blk0". */
  readonly name: string;
  /** Virtio device ID (2 = block, 1 = network). */
  readonly deviceId: number;
  /** Feature bits the device offers, device-specific and ring bits; the transport adds its own. */
  readonly features: bigint;
  /** Maximum size of each queue; its length is the number of queues. */
  readonly queueMaxSizes: readonly number[];
  /** Size of the device configuration space in bytes. */
  readonly configSize: number;
  /**
   * Changes (by any amount) whenever the device changes its own configuration space, before
   * or after DRIVER_OK, with or without a config interrupt; the transport's ConfigGeneration
   * register moves with it. Absent: the device changes config space only through `config()`.
   */
  readonly configGeneration?: number;
  /** Reads `width` bytes (1, 2 or 4, inside configSize) of configuration space, little-endian. */
  readConfig(offset: number, width: 1 | 2 | 4): number;
  /** Writes configuration space; a device ignores (and counts) writes to read-only fields. */
  writeConfig(offset: number, width: 1 | 2 | 4, value: number): void;
  /** Starts the device; returns an error message instead when it cannot (DEVICE_NEEDS_RESET follows). */
  activate(ctx: ActivationContext): string | null;
  /** The driver notified queue `index`. Called from a task after the MMIO access returned. */
  notify(index: number): void;
  /** Back to the state before activation; drop everything that refers to guest memory. */
  reset(): void;
  /**
   * Queue reset (VIRTIO_F_RING_RESET; docs/virtio-mmio-msi-v3.md, "Queue reset", D10): forget
   * queue `index` and every piece of work taken from it; work still under way for it must not
   * write guest memory, its used ring or raise its interrupt when it completes. Other queues
   * keep running. The transport has already closed the queue's Virtqueue. A device without
   * this hook and `enableQueue` is not offered RING_RESET.
   */
  resetQueue?(index: number): void;
  /** A queue reset earlier is set up again (QueueReady 1 after DRIVER_OK): use `queue` from now on. */
  enableQueue?(queue: Virtqueue): void;
  /** The device's counters, plain numbers, cheap to read. */
  readonly counters: Readonly<Record<string, number>>;
}

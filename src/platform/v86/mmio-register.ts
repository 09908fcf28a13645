// Our 128 KiB block of guest physical address space, registered with v86's
// `cpu.io.mmap_register` (addr and size multiples of 128 KiB; 16-bit accesses arrive as two
// 8-bit ones). v86 cannot unmap a block: uninstall leaves it registered, and the bus answers
// from then on as empty slots (MmioBus.detachAll).

import { MMIO_BLOCK_SIZE } from "../../firmware/mmio-placement.ts";
import type { MmioBus } from "../mmio-bus.ts";
import type { V86Cpu } from "./internals.ts";
import type { UninstallOutcome, V86Patch } from "./patch.ts";

export class MmioRegistration implements V86Patch {
  readonly name = "mmio-register";
  readonly #cpu: Pick<V86Cpu, "io" | "read32s">;
  readonly #bus: MmioBus;
  #installed = false;

  constructor(cpu: Pick<V86Cpu, "io" | "read32s">, bus: MmioBus) {
    this.#cpu = cpu;
    this.#bus = bus;
  }

  get installed(): boolean {
    return this.#installed;
  }

  install(): void {
    if (this.#installed) return;
    const bus = this.#bus;
    this.#cpu.io.mmap_register(
      bus.base,
      MMIO_BLOCK_SIZE,
      (addr) => bus.read(addr, 1),
      (addr, value) => bus.write(addr, 1, value),
      (addr) => bus.read(addr, 4),
      (addr, value) => bus.write(addr, 4, value),
    );
    this.#installed = true;
  }

  uninstall(): UninstallOutcome {
    return "nothing";
  }

  /** A read through v86's own physical read reaches our bus (checked by its read counter). */
  selfCheck(): string[] {
    if (typeof this.#cpu.io?.mmap_register !== "function") return ["cpu.io.mmap_register is not a function"];
    if (!this.#installed) return [];
    const before = this.#bus.counters.reads;
    this.#cpu.read32s(this.#bus.base);
    return this.#bus.counters.reads === before + 1 ? [] : ["a read of our block through v86's read32s did not reach our bus"];
  }
}

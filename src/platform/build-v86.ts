// The one place a V86 is built from images: our Machine (src/machine/machine.ts) and the tests
// that attach our devices themselves, as a user of the library would (tests/guest/stock-v86.ts),
// both call buildV86. The V86 it resolves with has loaded and not started, so devices can be
// attached before the first instruction (README, "Use the devices in your own v86 page"). ACPI is
// on: MSI needs v86's local APIC (docs/virtio-mmio-msi-v3.md).

import { V86 } from "v86";
import type { V86Emulator } from "./v86/internals.ts";

export interface V86Images {
  bios: ArrayBuffer;
  vgaBios: ArrayBuffer;
  kernel: ArrayBuffer;
  initrd?: ArrayBuffer;
}

export interface BuildV86Options {
  images: V86Images;
  /** Where v86.wasm is: a URL in the browser, a file path under Node. */
  wasmPath: string;
  /**
   * Instead of v86 fetching `wasmPath` itself: instantiates v86's wasm with the imports given,
   * resolving with its exports (v86's `wasm_fn`), e.g. from a module the page compiled at start.
   */
  instantiateWasm?: (imports: Record<string, unknown>) => Promise<unknown>;
  memoryMB: number;
  /** The whole kernel command line (device announcements included). */
  cmdline: string;
  /** More v86 options, or ones that replace these (a NIC, another initrd, more memory). */
  v86Options?: Record<string, unknown>;
}

/** Builds the V86 and resolves once it has loaded ("emulator-loaded"), not started. */
export async function buildV86(options: BuildV86Options): Promise<V86Emulator> {
  const { images } = options;
  const emulator = new V86({
    wasm_path: options.wasmPath,
    ...(options.instantiateWasm ? { wasm_fn: options.instantiateWasm } : {}),
    bios: { buffer: images.bios },
    vga_bios: { buffer: images.vgaBios },
    bzimage: { buffer: images.kernel },
    ...(images.initrd ? { initrd: { buffer: images.initrd } } : {}),
    cmdline: options.cmdline,
    memory_size: options.memoryMB * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    acpi: true,
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    ...options.v86Options,
  } as ConstructorParameters<typeof V86>[0]) as unknown as V86Emulator;
  await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
  return emulator;
}

// A V86 built as a user of our library builds one (no Machine): our guest's BIOSes, kernel and
// initrd through the same builder the Machine uses (src/platform/build-v86.ts: ACPI on, since
// MSI needs v86's local APIC; loaded, not started, so devices can be attached before the first
// instruction). Shared by the tests that attach our devices themselves (attach.test.ts,
// debian-kernel.test.ts, v86-patches.test.ts).
import { readFileSync } from "node:fs";
import { V86 } from "v86";
import { buildV86 } from "../../src/platform/build-v86.ts";
import { DEFAULT_GUEST, v86WasmPath } from "../../src/node/paths.ts";

/** The part of the V86 object these tests use. */
export interface Emulator {
  add_listener(event: string, fn: (value: never) => void): void;
  run(): Promise<void> | void;
  stop(): Promise<void> | void;
  destroy(): Promise<void> | void;
  serial0_send(text: string): void;
  network_adapter?: { fetch: (url: string) => Promise<Response> };
}

/** A file's bytes in an ArrayBuffer of their own (a Node Buffer may share its pool). */
export function fileBuffer(path: string): ArrayBuffer {
  const bytes = readFileSync(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** The V86, once loaded, with 128 MiB; `extra` adds or replaces v86 options (another kernel, initrd, memory, NIC). */
export async function stockV86(cmdline: string, extra: Record<string, unknown> = {}): Promise<Emulator> {
  const emulator = await buildV86({
    images: {
      bios: fileBuffer(DEFAULT_GUEST.bios),
      vgaBios: fileBuffer(DEFAULT_GUEST.vgaBios),
      kernel: fileBuffer(DEFAULT_GUEST.kernel),
      initrd: fileBuffer(DEFAULT_GUEST.initrd),
    },
    wasmPath: v86WasmPath(),
    memoryMB: 128,
    cmdline,
    v86Options: extra,
  });
  return emulator as unknown as Emulator;
}

/**
 * A bare V86 at power-on: BIOSes only, 32 MiB, ACPI as the Machine sets it, not started, and NOT
 * yet loaded (`loaded` resolves once it is), for the tests that look at v86 itself before and
 * after it loads (v86-coupling.test.ts, v86-patches.test.ts).
 */
export function bareV86<E>(): { emulator: E; loaded: Promise<void> } {
  const v86 = new V86({
    wasm_path: v86WasmPath(),
    bios: { buffer: fileBuffer(DEFAULT_GUEST.bios) },
    vga_bios: { buffer: fileBuffer(DEFAULT_GUEST.vgaBios) },
    memory_size: 32 * 1024 * 1024,
    acpi: true,
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  } as ConstructorParameters<typeof V86>[0]);
  const loaded = new Promise<void>((resolve) => v86.add_listener("emulator-loaded", () => resolve()));
  return { emulator: v86 as unknown as E, loaded };
}

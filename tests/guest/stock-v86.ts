// A V86 built straight from the `v86` package, as a user of our library builds one (no Machine):
// our guest's BIOSes, kernel and initrd, ACPI on (MSI needs v86's local APIC), not started, so
// devices can be attached before the first instruction. Shared by the tests that attach our
// devices themselves (attach.test.ts, debian-kernel.test.ts).
import { readFileSync } from "node:fs";
import { V86 } from "v86";
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

/** The V86, once loaded; `extra` adds or replaces options (another kernel, initrd, memory, NIC). */
export async function stockV86(cmdline: string, extra: Record<string, unknown> = {}): Promise<Emulator> {
  const emulator = new V86({
    wasm_path: v86WasmPath(),
    bios: { buffer: fileBuffer(DEFAULT_GUEST.bios) },
    vga_bios: { buffer: fileBuffer(DEFAULT_GUEST.vgaBios) },
    bzimage: { buffer: fileBuffer(DEFAULT_GUEST.kernel) },
    initrd: { buffer: fileBuffer(DEFAULT_GUEST.initrd) },
    cmdline,
    memory_size: 128 * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    acpi: true,
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    ...extra,
  } as unknown as ConstructorParameters<typeof V86>[0]) as unknown as Emulator;
  await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));
  return emulator;
}

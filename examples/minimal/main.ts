// A stock V86 from the `v86` package with this project's virtio-mmio devices attached: a disk
// read lazily from a URL with its writes kept in IndexedDB, and a NIC on v86's fetch adapter,
// both signalling MSIs. The guest's serial port is the terminal: output into a <pre>, keys back.
import { V86, type V86Options } from "v86";
import wasmUrl from "v86/build/v86.wasm?url";
import { BlockDevice, NetDevice, OverlayBackend, V86BusBackend, attachVirtioMmio, virtioMmioCmdline } from "virtio-mmio-msi-v86";
import { HttpRangeBackend, IdbBlockStore } from "virtio-mmio-msi-v86/browser";

// v86 writes the kernel command line into guest memory when it is created, so the devices'
// announcements (virtio_mmio.device=...) go in now; attach checks they are there.
const emulator = new V86({
  wasm_path: wasmUrl,
  bios: { url: "guest/bios.bin" },
  vga_bios: { url: "guest/vgabios.bin" },
  bzimage: { url: "guest/bzImage" },
  initrd: { url: "guest/initrd.img" },
  // no_timer_check: a busy host can fail the kernel's IO-APIC timer check; piix_init: no IDE probe.
  cmdline: `console=ttyS0 no_timer_check initcall_blacklist=piix_init ${virtioMmioCmdline({ count: 2 })}`,
  memory_size: 128 * 1024 * 1024,
  acpi: true, // v86 has a local APIC, where MSIs arrive, only with ACPI
  autostart: false, // the devices must be there before the first instruction
  disable_keyboard: true, // the keys go to the serial port (below), not to v86's PS/2 keyboard
  disable_mouse: true,
  disable_speaker: true,
  // "none": v86 builds its fetch adapter but no NIC of its own (its typings lack the value).
  net_device: { type: "none", relay_url: "fetch" } as unknown as V86Options["net_device"],
});
await new Promise<void>((resolve) => emulator.add_listener("emulator-loaded", () => resolve()));

// The disk: the image read in 256 KiB chunks with HTTP Range requests as the guest asks for
// them, under a copy-on-write overlay saved in IndexedDB. The image's size and version name the
// overlay, so a changed image starts from a clean overlay instead of a wrong one.
const image = await HttpRangeBackend.open("guest/disk.img");
const store = await IdbBlockStore.open("minimal-example-disk");
const overlay = await OverlayBackend.open(image, { store, imageId: `disk.img#${image.size}#${image.version ?? ""}` });
// A flush from the guest saves at once; ext2 sends none, so save what it wrote every second too.
setInterval(() => void Promise.resolve(overlay.flush()).catch((error: unknown) => console.error("disk save failed", error)), 1000);

const nic = new V86BusBackend();
const attached = attachVirtioMmio(emulator, {
  devices: [new BlockDevice({ backend: overlay, name: "blk0" }), new NetDevice({ backend: nic, name: "net0" })],
  msi: {}, // MSI on, with the defaults: the v3 layout, an address/data pair per queue and one for config changes
});
nic.attach(attached.emulatorBus);

// For tests: everything the guest wrote to its serial port, a way to type, and the disk's overlay.
const example = { serial: "", send: (text: string) => emulator.serial0_send(text), disk: overlay };
declare global {
  interface Window {
    example: typeof example;
  }
}
window.example = example;

// The terminal. Escape sequences (colours, cursor moves) are dropped; a backspace erases.
const screen = document.getElementById("console")!;
const decoder = new TextDecoder();
let shown = "";
let escape: "" | "esc" | "csi" = "";
let drawing = false;
emulator.add_listener("serial0-output-byte", (byte) => {
  const text = decoder.decode(new Uint8Array([byte]), { stream: true });
  example.serial += text;
  for (const c of text) {
    if (escape === "esc") escape = c === "[" ? "csi" : "";
    else if (escape === "csi") escape = c >= "@" && c <= "~" ? "" : "csi";
    else if (c === "\x1b") escape = "esc";
    else if (c === "\b") shown = shown.slice(0, -1);
    else if (c !== "\r" && c !== "\x07") shown += c;
  }
  if (!drawing) {
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      screen.textContent = shown;
      screen.scrollTop = screen.scrollHeight;
    });
  }
});

const KEYS: Record<string, string> = { Enter: "\r", Backspace: "\x7f", Tab: "\t", Escape: "\x1b", ArrowUp: "\x1b[A", ArrowDown: "\x1b[B", ArrowRight: "\x1b[C", ArrowLeft: "\x1b[D" };
addEventListener("keydown", (event) => {
  const { key } = event;
  const ctrl = event.ctrlKey && /^[a-z]$/i.test(key) ? String.fromCharCode(key.toUpperCase().charCodeAt(0) - 64) : "";
  const data = ctrl || KEYS[key] || (key.length === 1 && !event.ctrlKey && !event.metaKey ? key : "");
  if (!data) return;
  event.preventDefault();
  emulator.serial0_send(data);
});

await emulator.run();

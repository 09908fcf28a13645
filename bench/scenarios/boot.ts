// Boot: time from creating the emulator to the shell prompt, with no devices and with our
// virtio-blk and virtio-net attached (MSI, then the line). The difference is what probing and
// setting up our devices costs the guest's boot. Every variant boots with the same command line
// apart from the interrupt mode.

import { BlockDevice } from "../../src/devices/blk/device.ts";
import { MemoryBackend } from "../../src/devices/blk/memory-backend.ts";
import { NetDevice } from "../../src/devices/net/device.ts";
import { VirtualSwitch } from "../../src/devices/net/switch.ts";
import { bootGuest } from "../../src/node/boot.ts";
import type { Section } from "../lib/table.ts";

export type BootVariant = "none" | "msi" | "line";
export const BOOT_VARIANTS: readonly BootVariant[] = ["none", "msi", "line"];
const MEMORY_MB = 160;

export async function runBoot(variant: BootVariant, image: Uint8Array, run: number, s: Section): Promise<string> {
  const devices =
    variant === "none"
      ? []
      : [
          new BlockDevice({ backend: new MemoryBackend(image.slice()), name: "blk0" }),
          new NetDevice({ backend: new VirtualSwitch().createPort(), name: "net0" }),
        ];
  // A static address: without one the guest's init asks DHCP on eth0 for ~3 s, and nobody on
  // this switch answers; that wait is not the devices' cost.
  const guest = await bootGuest({
    devices,
    msi: variant !== "line",
    memoryMB: MEMORY_MB,
    append: ["guest.ip=192.168.87.1/24", variant === "line" ? "virtio_mmio.msi=0" : ""].join(" ").trim(),
  });
  // Read as soon as the prompt is seen: what the guest executed to get there, whatever the host's load.
  const instructions = (guest.machine.cpu as typeof guest.machine.cpu & { instruction_counter: Uint32Array }).instruction_counter[0]! >>> 0;
  await guest.shutdown();
  s.add("Boot to shell prompt", "ms", 0, variant, run, guest.bootMs);
  s.add("Guest instructions to the prompt", "M instr", 1, variant, run, instructions / 1e6);
  return `boot ${guest.bootMs.toFixed(0)} ms`;
}

// Masks or unmasks, from the host, the MSI that carries one of a device's queues, at the register
// level as a driver would, in whichever mode the guest's driver chose: the 2020 table's vector
// (MsiVecSel, then MsiCmd; docs/virtio-mmio-msi.md) or the v3 layout's queue target (QueueSel,
// then QueueMsiControl's MASK bit; docs/virtio-mmio-msi-v3.md). The selector is put back
// afterwards: the guest may be between its own select and access.
import { MSI_CMD, MSI_TARGET_CONTROL, REG } from "../../src/virtio/constants.ts";
import type { MmioTransport } from "../../src/virtio/mmio-transport.ts";

export function hostMaskQueue(t: MmioTransport, queue: number, masked: boolean): void {
  const mode = t.state().msiMode;
  if (mode === "per-queue") {
    const saved = t.queueSel;
    t.write(REG.QueueSel, 4, queue);
    const control = t.read(REG.QueueMsiControl, 4) & (MSI_TARGET_CONTROL.ENABLE | MSI_TARGET_CONTROL.MASK);
    t.write(REG.QueueMsiControl, 4, masked ? control | MSI_TARGET_CONTROL.MASK : control & ~MSI_TARGET_CONTROL.MASK);
    t.write(REG.QueueSel, 4, saved);
  } else if (mode === "table") {
    const table = t.msi!;
    const saved = table.state().vecSel;
    t.write(REG.MsiVecSel, 4, table.state().queueVectors[queue]!);
    t.write(REG.MsiCmd, 4, masked ? MSI_CMD.MASK : MSI_CMD.UNMASK);
    t.write(REG.MsiVecSel, 4, saved);
  } else {
    throw new Error("hostMaskQueue: the device is not in an MSI mode");
  }
}

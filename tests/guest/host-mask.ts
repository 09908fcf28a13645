// Masks or unmasks, from the host, the MSI that carries one of a device's queues, at the register
// level as a driver would, in whichever mode the guest's driver chose (docs/virtio-mmio-msi.md):
// the table's vector (MsiVecSel, then MsiCmd) or the per-queue mode's target (MsiPqSel, then
// MsiPqCmd). The selector is put back afterwards: the guest may be between its own select and
// command.
import { MSI_CMD, MSI_PQ_CMD, REG } from "../../src/virtio/constants.ts";
import type { MmioTransport } from "../../src/virtio/mmio-transport.ts";

export function hostMaskQueue(t: MmioTransport, queue: number, masked: boolean): void {
  const mode = t.state().msiMode;
  if (mode === "per-queue") {
    const saved = t.msiPerQueue!.state().selected;
    t.write(REG.MsiPqSel, 4, queue);
    t.write(REG.MsiPqCmd, 4, masked ? MSI_PQ_CMD.MASK : MSI_PQ_CMD.UNMASK);
    t.write(REG.MsiPqSel, 4, saved);
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

// The guest tests' network: our NIC on one of v86's adapters, wired the way the `guest` command
// and the page wire it (src/machine/network.ts), optionally with the test answering the fetch
// adapter's HTTP requests itself instead of the outside world.
import type { NetDevice } from "../../src/devices/net/device.ts";
import type { Machine } from "../../src/machine/machine.ts";
import { createNetwork, type NetworkChoice, type NetworkOptions } from "../../src/machine/network.ts";

export type FetchHandler = (url: string, init?: unknown) => Promise<Response>;

export interface TestNetwork {
  readonly device: NetDevice;
  /** For bootGuest: v86's adapter, no NIC of its own. */
  readonly v86Options: Record<string, unknown>;
  /** For bootGuest: joins the NIC before the guest boots (its /init asks DHCP on the way up). */
  readonly onMachine: (machine: Machine) => void;
}

export function testNetwork(choice: NetworkChoice, o: NetworkOptions & { answer?: FetchHandler } = {}): TestNetwork {
  const net = createNetwork(choice, o);
  if (net === null) throw new Error("testNetwork: no NIC for network none");
  return {
    device: net.device,
    v86Options: net.v86Options,
    onMachine: (machine) => {
      net.attach(machine);
      if (o.answer) (machine.emulator as unknown as { network_adapter: { fetch: FetchHandler } }).network_adapter.fetch = o.answer;
    },
  };
}

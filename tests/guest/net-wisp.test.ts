// Our virtio-net on v86's WISP adapter: real TCP from the guest through a relay the user runs.
// The test runs a WISP relay (@mercuryworkshop/wisp-js, the maintained server of the protocol)
// and a plain HTTP server on this machine; the guest takes a DHCP lease from the adapter at boot
// and downloads 1 MiB from the HTTP server over TCP carried by the relay, checksum for checksum.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetDevice } from "../../src/devices/net/device.ts";
import { bootGuest, type BootedGuest } from "../../src/node/boot.ts";
import { testNetwork } from "./network.ts";
import { sh } from "./shell.ts";

/** This machine's first non-loopback IPv4 address: the guest's own 127.0.0.1 is its loopback. */
function hostAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return undefined;
}

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "0.0.0.0", () => resolve((server.address() as AddressInfo).port)));

const host = hostAddress();

describe.runIf(host !== undefined)("virtio-net through a WISP relay", () => {
  const blob = randomBytes(1024 * 1024);
  const blobSum = createHash("sha256").update(blob).digest("hex");
  const requests: string[] = [];
  let relay: Server;
  let web: Server;
  let webPort = 0;
  let guest: BootedGuest;
  let dev: NetDevice;

  beforeAll(async () => {
    // v86's adapter opens a WebSocket: Node 20 has none built in (Node 22 has).
    if (typeof globalThis.WebSocket === "undefined") {
      const ws = (await import("ws" as string)) as { WebSocket: typeof WebSocket };
      globalThis.WebSocket = ws.WebSocket;
    }
    const { server: wisp, logging } = await import("@mercuryworkshop/wisp-js/server");
    logging.set_level(logging.ERROR);
    // The relay refuses private and loopback destinations by default; this test's server is one.
    Object.assign(wisp.options, { allow_private_ips: true, allow_loopback_ips: true });
    relay = createServer((_req, res) => res.writeHead(404).end());
    relay.on("upgrade", (req, socket, head) => wisp.routeRequest(req, socket, head));
    const relayPort = await listen(relay);
    web = createServer((req, res) => {
      requests.push(req.url ?? "");
      if (req.url === "/blob") res.writeHead(200, { "content-length": blob.length }).end(blob);
      else res.writeHead(404).end();
    });
    webPort = await listen(web);

    const net = testNetwork(`wisp://127.0.0.1:${relayPort}/`);
    dev = net.device;
    guest = await bootGuest({ devices: [dev], v86Options: net.v86Options, onMachine: net.onMachine });
  }, 120_000);
  afterAll(async () => {
    await guest?.shutdown();
    relay?.closeAllConnections();
    relay?.close();
    web?.close();
  });

  it("the guest took a DHCP lease from the adapter at boot", async () => {
    expect(await sh(guest, "ip -4 -o addr show dev eth0")).toContain("inet 192.168.86.100/24");
  });

  it("1 MiB over real TCP through the relay arrives intact", async () => {
    const out = await sh(guest, `wget -q -O - http://${host}:${webPort}/blob | sha256sum`, 120_000);
    expect(out.split(" ")[0]).toBe(blobSum);
    expect(requests).toContain("/blob");
    expect(dev.counters.rxBytes).toBeGreaterThan(blob.length);
    expect(dev.counters.internalErrors).toBe(0);
  });
});

// virtio-net under the fuzzer, on a VirtualSwitch whose other port is the fuzzer's peer: frames
// the guest sends must reach the peer unchanged, frames the peer sends must land whole in the
// guest's receive buffers (merged across several when MRG_RXBUF is on).

import { concatBytes as concat } from "../virtio/bytes.ts";
import { FEATURE } from "../virtio/constants.ts";
import { CTRL_ACK, CTRL_CLASS, CTRL_MAC, CTRL_RX, NET_F, NET_HDR, NET_HDR_SIZE, bit } from "../devices/net/constants.ts";
import { NetDevice, type NetDeviceOptions } from "../devices/net/device.ts";
import { netPersist } from "../devices/net/device-state.ts";
import type { VirtioDevice } from "../virtio/interfaces.ts";
import { VirtualSwitch, type SwitchPort } from "../devices/net/switch.ts";
import { ethFrame, txHeader } from "../testing/net-frames.ts";
import type { Prng } from "../testing/prng.ts";
import { kick, pickIndices, publish, rawBuffer, rawQueue, sendRaw } from "./raw-queue.ts";
import { Rig, expectRise, type Expectation, type MsiLayout, type StepResult } from "./rig.ts";

const NIC = "52:54:00:12:34:56";
const PEER = "52:54:00:00:00:01";
const MTU = 1500;
/** Linux's receive buffer without MRG_RXBUF: header and the largest untagged frame. */
const BIG_BUF = NET_HDR_SIZE + MTU + 14;

const nicOptions = (port: SwitchPort): NetDeviceOptions => ({ backend: port, mac: NIC, mtu: MTU, queueSize: 16 });

export class NetRig extends Rig {
  device: NetDevice;
  readonly poppingQueues = [1, 2];
  protected readonly optionalFeatures =
    FEATURE.EVENT_IDX | FEATURE.INDIRECT_DESC | bit(NET_F.MRG_RXBUF) | bit(NET_F.CSUM) | bit(NET_F.STATUS) | bit(NET_F.CTRL_VQ);
  readonly switch: VirtualSwitch;
  readonly #peer: SwitchPort;
  /** The NIC's port (a restore gives the fresh NIC a new one). */
  #nicPort: SwitchPort;
  /** Frames that reached the peer since the last step. */
  readonly #received: Uint8Array[] = [];
  /** The peer sends every frame it gets straight back (addresses swapped): a looping network. */
  #reflect = false;

  constructor(name: string, msi: MsiLayout) {
    const sw = new VirtualSwitch();
    const port = sw.createPort("nic");
    const device = new NetDevice(nicOptions(port));
    super(name, device, msi);
    this.device = device;
    this.switch = sw;
    this.#nicPort = port;
    this.#peer = sw.createPort("peer");
    this.#peer.onReceive((f) => {
      // Only the newest frames matter; hostile episodes may send thousands.
      if (this.#received.length > 64) this.#received.length = 0;
      this.#received.push(f.slice());
      if (this.#reflect) {
        const back = f.slice();
        back.set(f.subarray(6, 12), 0);
        back.set(f.subarray(0, 6), 6);
        this.#peer.send(back);
      }
    });
  }

  protected deviceGuestErrors(): number {
    const c = this.device.counters;
    return c.txDrops + c.rxDrops + c.ctrlErrors + c.rxBuffersUnusable + c.shortCopies + c.badNotifies + c.configReadsOutOfRange + c.configWritesIgnored;
  }

  deviceInternalErrors(): number {
    return this.device.counters.internalErrors + this.device.counters.txBackendErrors + this.switch.counters.receiverErrors;
  }

  protected saveDevice(): unknown {
    return netPersist(this.device).save();
  }

  /** The fresh NIC gets a new port on the same switch (a backend reconnects; it is not saved). */
  protected freshDevice(saved: unknown): { device: VirtioDevice; apply: () => void } {
    const port = this.switch.createPort("nic");
    const device = new NetDevice(nicOptions(port));
    const p = netPersist(device);
    const checked = p.check(saved);
    return {
      device,
      apply: () => {
        this.#nicPort.close();
        this.#nicPort = port;
        p.apply(checked);
      },
    };
  }

  protected adoptDevice(device: VirtioDevice): void {
    this.device = device as NetDevice;
  }

  triggerConfig(): boolean {
    const surely = this.device.state().active && (this.transport.state().negotiatedFeatures & bit(NET_F.STATUS)) !== 0n;
    this.device.setLink(!this.device.linkUp);
    return surely;
  }

  protected override queueSizesFor(rng: Prng, features: bigint): number[] {
    const sizes = this.queueSizes(rng);
    // Linux sets up the control queue only with CTRL_VQ.
    if ((features & bit(NET_F.CTRL_VQ)) === 0n) sizes[2] = 0;
    return sizes;
  }

  protected override beforeInit(): void {
    if (!this.device.linkUp) this.device.setLink(true);
  }

  protected override beginEpisode(): void {
    this.#received.length = 0;
    this.#reflect = false;
  }

  protected async step(rng: Prng): Promise<StepResult> {
    const kinds = ["tx", "tx", "rx", "rx", "ping"];
    if (this.negotiated(bit(NET_F.CTRL_VQ))) kinds.push("ctrl");
    if (this.negotiated(bit(NET_F.STATUS))) kinds.push("link");
    switch (rng.pick(kinds)) {
      case "tx": return this.#tx(rng);
      case "rx": return this.#rx(rng);
      case "ping": return this.#ping(rng);
      case "ctrl": return this.#ctrl(rng);
      default:
        // Down and up again: two config events, the link ends up as it was.
        this.device.setLink(false);
        this.device.setLink(true);
        this.wantConfig();
        return null;
    }
  }

  async #tx(rng: Prng): Promise<StepResult> {
    this.#received.length = 0;
    const frame = ethFrame(PEER, NIC, rng.range(60, MTU + 14), 0x0800, rng.u32());
    const readable = rng.chance(0.5) ? [txHeader(), frame] : [concat(txHeader(), frame)];
    const c = this.addChain(1, { readable }, rng.chance(0.4));
    const err = await this.kickOne(1, c, 0);
    if (err !== null) return err;
    const got = this.#received;
    if (got.length !== 1 || !equal(got[0]!, frame)) return `net: the peer got ${got.length} frame(s), not the one sent`;
    return null;
  }

  /**
   * A frame out and its reflection back in, inside one transmit notify: the receive path runs
   * re-entrantly from the transmit path's backend call.
   */
  async #ping(rng: Prng): Promise<StepResult> {
    this.#received.length = 0;
    const frame = ethFrame(PEER, NIC, rng.range(60, 200), 0x0800, rng.u32());
    const rx = this.addChain(0, { writable: [BIG_BUF] }, false);
    this.driver.notify(0);
    this.driver.runTasks();
    const tx = this.addChain(1, { readable: [txHeader(), frame] }, rng.chance(0.4));
    this.#reflect = true;
    let err: StepResult;
    try {
      err = await this.kickOne(1, tx, 0);
    } finally {
      this.#reflect = false;
    }
    if (err !== null) return err;
    const used = this.takeUsed(0);
    if (used.length !== 1 || used[0]!.id !== rx.head || used[0]!.len !== NET_HDR_SIZE + frame.length) {
      return `net ping: receive ring ${JSON.stringify(used)}`;
    }
    const back = this.writtenBytes(rx, used[0]!.len).subarray(NET_HDR_SIZE);
    const want = frame.slice();
    want.set(frame.subarray(6, 12), 0);
    want.set(frame.subarray(0, 6), 6);
    if (!equal(back, want)) return "net ping: the reflected frame differs";
    this.wantQueue(0);
    return null;
  }

  #rx(rng: Prng): StepResult {
    const frame = ethFrame(NIC, PEER, rng.range(60, MTU + 14), 0x0800, rng.u32());
    const q = this.driver.queues[0]!;
    let size = this.negotiated(bit(NET_F.MRG_RXBUF)) ? rng.pick([64, 256, BIG_BUF]) : BIG_BUF;
    let n = Math.ceil((NET_HDR_SIZE + frame.length) / size);
    if (n > q.free.length) {
      size = BIG_BUF;
      n = 1;
    }
    const chains = Array.from({ length: n }, () => this.addChain(0, { writable: [size] }, rng.chance(0.3)));
    this.driver.notify(0);
    this.driver.runTasks();
    this.#peer.send(frame);
    this.driver.runTasks();
    const used = this.takeUsed(0);
    if (used.length !== n) return `net: ${used.length} receive buffer(s) used for a ${frame.length}-byte frame, expected ${n}`;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      if (used[i]!.id !== chains[i]!.head) return `net: receive buffer ${i} out of order`;
      parts.push(this.writtenBytes(chains[i]!, used[i]!.len));
    }
    const all = concat(...parts);
    const numBuffers = all[NET_HDR.NUM_BUFFERS]! | (all[NET_HDR.NUM_BUFFERS + 1]! << 8);
    if (numBuffers !== n) return `net: num_buffers ${numBuffers}, expected ${n}`;
    if (!equal(all.subarray(NET_HDR_SIZE), frame)) return "net: received frame differs from the one the peer sent";
    this.wantQueue(0);
    return null;
  }

  async #ctrl(rng: Prng): Promise<StepResult> {
    const on = rng.int(2);
    const c = this.addChain(2, { readable: [Uint8Array.of(CTRL_CLASS.RX, CTRL_RX.PROMISC), Uint8Array.of(on)], writable: [1] }, rng.chance(0.3));
    const err = await this.kickOne(2, c, 1);
    if (err !== null) return err;
    const ack = this.driver.ram[c.writable[0]!.addr];
    const want = this.negotiated(bit(NET_F.CTRL_RX)) ? CTRL_ACK.OK : CTRL_ACK.ERR;
    return ack === want ? null : `net: promisc ${on} acked ${ack}`;
  }

  /**
   * Receive buffers posted straight into the rx ring, some heads published twice (a head the
   * device still holds), some malformed, then frames from the network to fill them.
   */
  #rawReceive(rng: Prng): void {
    const q = rawQueue(this, 0);
    if (q === null) return;
    const n = rng.range(1, 4);
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.3)) {
        const again = this.driver.u16(q.avail + 4 + 2 * ((this.driver.u16(q.avail + 2) - 1) & (q.size - 1)));
        publish(this, q, again);
        continue;
      }
      const len = rng.pick([1, 12, 26, 64, 256, BIG_BUF]);
      const addr = rawBuffer(this, q, len);
      if (addr === null) continue;
      const [d] = pickIndices(rng, q.size, 1);
      const loop = rng.chance(0.1);
      this.driver.writeDesc(q.desc, d!, { addr, len, flags: 2 | (loop ? 1 : 0), next: d! });
      publish(this, q, d!);
    }
    if (rng.chance(0.7)) kick(this, q);
    for (let i = rng.range(1, 3); i > 0; i--) this.#peer.send(ethFrame(NIC, PEER, rng.range(60, MTU + 14), 0x0800, rng.u32()));
    this.driver.runTasks();
  }

  #stateChangingCommand(rng: Prng): Uint8Array {
    const mac = () => {
      const m = rng.bytes(6);
      m[0] = m[0]! & 0xfe; // unicast
      return m;
    };
    switch (rng.int(4)) {
      case 0: return concat(Uint8Array.of(CTRL_CLASS.MAC, CTRL_MAC.ADDR_SET), mac());
      case 1: {
        const n = rng.int(4);
        const table = new Uint8Array(4 + 6 * n);
        table[0] = n;
        for (let i = 0; i < n; i++) table.set(mac(), 4 + 6 * i);
        return concat(Uint8Array.of(CTRL_CLASS.MAC, CTRL_MAC.TABLE_SET), table, Uint8Array.of(0, 0, 0, 0));
      }
      default:
        return Uint8Array.of(CTRL_CLASS.RX, rng.pick([CTRL_RX.PROMISC, CTRL_RX.ALLMULTI]), rng.int(2));
    }
  }

  hostileRequest(rng: Prng, queue: number | null): Expectation | null {
    const c = this.device.counters;
    if (rng.chance(0.05)) this.#reflect = !this.#reflect;
    if (rng.chance(0.25)) {
      this.#rawReceive(rng);
      return null;
    }
    if (queue === null || rng.chance(0.2)) {
      // From the network: a runt or a giant, straight into the NIC as its backend would.
      const e = expectRise("net.rxDrops", () => c.rxDrops);
      const len = rng.chance(0.5) ? rng.int(14) : rng.range(MTU + 19, 9000);
      this.device.receive(rng.bytes(len));
      return e;
    }
    const q = rawQueue(this, queue);
    if (q === null) return null;
    const negotiated = this.transport.state().negotiatedFeatures;
    let e: Expectation;
    let parts: (Uint8Array | number)[];
    if (queue === 1) {
      const cases: [keyof typeof c, () => (Uint8Array | number)[]][] = [
        ["txDropTooSmall", () => [concat(txHeader(), rng.bytes(rng.int(14)))]],
        ["txDropTooBig", () => [txHeader(), ethFrame(PEER, NIC, rng.range(MTU + 19, 4000))]],
        ["txDropBadHeader", () => [txHeader({ gsoType: rng.range(1, 5) }), ethFrame(PEER, NIC, 60)]],
        ["txDropBadHeader", () => [txHeader({ flags: 0x80 | rng.int(0x80) }), ethFrame(PEER, NIC, 60)]],
      ];
      const [key, build] = rng.pick(cases);
      e = expectRise(`net.${key}`, () => c[key]);
      parts = build();
    } else {
      if ((negotiated & bit(NET_F.CTRL_VQ)) === 0n) return null;
      if (rng.chance(0.5)) {
        // Valid commands that change what the NIC accepts: a reset must undo every one.
        sendRaw(this, rng, q, [this.#stateChangingCommand(rng), 1]);
        return null;
      }
      e = expectRise("net.ctrlErrors", () => c.ctrlErrors);
      parts = rng.chance(0.5) ? [Uint8Array.of(99, rng.int(256)), 1] : [Uint8Array.of(CTRL_CLASS.RX, CTRL_RX.PROMISC)];
    }
    return sendRaw(this, rng, q, parts).ok ? e : null;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// A NetBackend for tests: records what the NIC sends, injects frames as the network would.

import type { NetBackend } from "../devices/net/backend.ts";

export class CaptureBackend implements NetBackend {
  readonly name = "capture";
  readonly sent: Uint8Array[] = [];
  readonly macs: Uint8Array[] = [];
  closed = false;
  /** Makes send() throw (a broken network). */
  failSend = false;
  #receive: ((frame: Uint8Array) => void) | null = null;

  send(frame: Uint8Array): void {
    if (this.failSend) throw new Error("send failed");
    this.sent.push(frame);
  }

  onReceive(cb: (frame: Uint8Array) => void): void {
    this.#receive = cb;
  }

  setMac(mac: Uint8Array): void {
    this.macs.push(Uint8Array.from(mac));
  }

  close(): void {
    this.closed = true;
  }

  /** A frame from the network to the NIC. */
  inject(frame: Uint8Array): void {
    this.#receive?.(frame);
  }
}

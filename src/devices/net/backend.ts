// Where a network device's frames go. Backends know networks (v86's bus, a virtual switch, a
// socket), never virtio. Frames are whole Ethernet frames: destination, source, EtherType,
// payload; no preamble and no FCS.

export interface NetBackend {
  /** Short name for counters and the UI. */
  readonly name: string;
  /**
   * One frame from the NIC to the network. The device hands over a fresh array and never
   * touches it again, so the backend may keep it; it must not throw (a throw is counted as a
   * backend error and the frame is lost).
   */
  send(frame: Uint8Array): void;
  /**
   * Registers the NIC's receive function; a later call replaces it. `frame` is only valid
   * during the call (a backend may reuse its buffer), and the receiver must not modify it: the
   * same array may go to several receivers. The NIC copies what it keeps.
   */
  onReceive(cb: (frame: Uint8Array) => void): void;
  /**
   * Optional: the NIC's address, told at attach time and whenever the driver changes it. Some
   * networks must know it (v86's fetch adapter addresses its TCP replies to it).
   */
  setMac?(mac: Uint8Array): void;
  /** Stops delivering frames and lets go of the network. */
  close(): void;
}

// The comparison's fixed workload: short enough to run three times in a page, long enough
// that per-request counts settle. Each step runs one shell command on one device.
//   qd1   4 KiB O_DIRECT reads one at a time: one request, one completion, one interrupt each
//   seq   1 MiB O_DIRECT reads: past the page cache, large requests (throughput)
//   ping  ICMP echo to v86's router (its fetch adapter answers any address): a round trip is
//         one transmit and one receive on the network device

export type StepId = "qd1" | "seq" | "ping";

export const WORKLOAD = {
  /** The in-memory disk the comparison attaches (zeros: no filesystem, init leaves it alone). */
  diskMiB: 32,
  qd1Reads: 1000,
  seqMiB: 32,
  pings: 50,
  /** Seconds between pings (busybox ping takes fractions). */
  pingInterval: "0.01",
  /** The fetch adapter's router; it answers echo requests to any address. */
  router: "192.168.86.1",
} as const;

export interface Step {
  readonly id: StepId;
  readonly label: string;
  /** Which device it exercises. */
  readonly device: "blk" | "net";
  readonly command: string;
  /**
   * What its figures are "per": a block request, a MiB (the large reads: how the block layer
   * splits and merges them moves with timing, so per request would not compare), a ping.
   */
  readonly per: "read" | "MiB" | "round trip";
  /** What throughput means for it, and its unit. */
  readonly throughputUnit: "IOPS" | "MB/s" | "round trips/s";
}

export const STEPS: readonly Step[] = [
  {
    id: "qd1",
    label: `Disk: ${WORKLOAD.qd1Reads} × 4 KiB O_DIRECT reads, QD1`,
    device: "blk",
    command: `dd if=/dev/vda of=/dev/null bs=4k count=${WORKLOAD.qd1Reads} iflag=direct 2>/dev/null`,
    per: "read",
    throughputUnit: "IOPS",
  },
  {
    id: "seq",
    label: `Disk: ${WORKLOAD.seqMiB} MiB sequential O_DIRECT read, bs=1M`,
    device: "blk",
    command: `dd if=/dev/vda of=/dev/null bs=1M count=${WORKLOAD.seqMiB} iflag=direct 2>/dev/null`,
    per: "MiB",
    throughputUnit: "MB/s",
  },
  {
    id: "ping",
    label: `Network: ${WORKLOAD.pings} pings to the router, ${WORKLOAD.pingInterval} s apart`,
    device: "net",
    command: `ping -q -c ${WORKLOAD.pings} -i ${WORKLOAD.pingInterval} ${WORKLOAD.router}`,
    per: "round trip",
    throughputUnit: "round trips/s",
  },
];

/** Echo replies busybox ping counted ("N packets received"), or 0. */
export function pingReplies(output: string): number {
  const m = /(\d+) packets received/.exec(output);
  return m ? Number(m[1]) : 0;
}

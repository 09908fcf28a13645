// virtio-net wire constants (virtio 1.2, section 5.1). Numbers, and the two helpers that only
// combine them (bit, maxFrameLength): no behaviour here.

/** Device feature bit numbers. */
export const NET_F = {
  CSUM: 0,
  GUEST_CSUM: 1,
  CTRL_GUEST_OFFLOADS: 2,
  MTU: 3,
  MAC: 5,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  STATUS: 16,
  CTRL_VQ: 17,
  CTRL_RX: 18,
  CTRL_VLAN: 19,
  CTRL_RX_EXTRA: 20,
  GUEST_ANNOUNCE: 21,
  MQ: 22,
  CTRL_MAC_ADDR: 23,
} as const;

/** Ring feature bit numbers the network device can use (virtio 1.2 section 6). */
export const RING_F = {
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
} as const;

/**
 * struct virtio_net_hdr_v1 (the header every buffer starts with once VERSION_1 is negotiated,
 * MRG_RXBUF or not): byte offsets and its size.
 */
export const NET_HDR = {
  FLAGS: 0, // u8
  GSO_TYPE: 1, // u8
  HDR_LEN: 2, // u16
  GSO_SIZE: 4, // u16
  CSUM_START: 6, // u16
  CSUM_OFFSET: 8, // u16
  NUM_BUFFERS: 10, // u16
} as const;
export const NET_HDR_SIZE = 12;

/** virtio_net_hdr.flags bits. */
export const NET_HDR_F = {
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
  RSC_INFO: 4,
} as const;

/** virtio_net_hdr.gso_type values. */
export const NET_HDR_GSO = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  ECN: 0x80,
} as const;

/** Byte offsets in struct virtio_net_config. */
export const NET_CFG = {
  MAC: 0, // u8[6]
  STATUS: 6, // u16
  MAX_VIRTQUEUE_PAIRS: 8, // u16
  MTU: 10, // u16
} as const;
/** Config space we expose: up to and including mtu. The speed/duplex/RSS fields follow features we never offer. */
export const NET_CONFIG_SIZE = 12;

/** virtio_net_config.status bits. */
export const NET_S = {
  LINK_UP: 1,
  ANNOUNCE: 2,
} as const;

/** Control virtqueue classes and their commands. */
export const CTRL_CLASS = {
  RX: 0,
  MAC: 1,
  VLAN: 2,
  ANNOUNCE: 3,
  MQ: 4,
  GUEST_OFFLOADS: 5,
} as const;

export const CTRL_RX = {
  PROMISC: 0,
  ALLMULTI: 1,
  ALLUNI: 2,
  NOMULTI: 3,
  NOUNI: 4,
  NOBCAST: 5,
} as const;

export const CTRL_MAC = {
  TABLE_SET: 0,
  ADDR_SET: 1,
} as const;

/** The ack byte the device writes at the end of a control command. */
export const CTRL_ACK = {
  OK: 0,
  ERR: 1,
} as const;

/** class u8 + command u8. */
export const CTRL_HEADER_SIZE = 2;

/** Queue indices with one queue pair (no MQ). */
export const QUEUE = {
  RX0: 0,
  TX0: 1,
  CTRL: 2,
} as const;

export const ETH_HEADER_SIZE = 14;
export const ETH_ADDR_SIZE = 6;
/** An 802.1Q tag adds four bytes after the source address. */
export const VLAN_TAG_SIZE = 4;
export const ETHERTYPE_VLAN = 0x8100;
/** Linux refuses an MTU feature below this (ETH_MIN_MTU); 65535 is the field's limit. */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

/** The largest frame the NIC passes at this MTU: Ethernet header, payload, and a VLAN tag if `frame` has one. */
export function maxFrameLength(mtu: number, frame: Uint8Array): number {
  const tagged = frame.length >= ETH_HEADER_SIZE && ((frame[12]! << 8) | frame[13]!) === ETHERTYPE_VLAN;
  return mtu + ETH_HEADER_SIZE + (tagged ? VLAN_TAG_SIZE : 0);
}

/** A feature bit number as a mask. */
export function bit(n: number): bigint {
  return 1n << BigInt(n);
}

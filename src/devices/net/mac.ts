// Ethernet (MAC) addresses: parsing, formatting, classes. No I/O.

import { ETH_ADDR_SIZE } from "./constants.ts";

/** "52:54:00:12:34:56" (QEMU's default, not v86's router 52:54:00:01:02:03): the default NIC address. */
export const DEFAULT_MAC = "52:54:00:12:34:56";

/** Parses "aa:bb:cc:dd:ee:ff" (or with "-"); throws on anything else (a caller's mistake). */
export function parseMac(text: string): Uint8Array {
  const parts = text.trim().split(/[:-]/);
  if (parts.length !== ETH_ADDR_SIZE || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`bad MAC address "${text}"`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** "aa:bb:cc:dd:ee:ff", lower case, two digits each. */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, ETH_ADDR_SIZE), (b) => b.toString(16).padStart(2, "0")).join(":");
}

/** The address as one number (48 bits fit a double exactly): a cheap Map key. */
export function macKey(bytes: Uint8Array, offset = 0): number {
  return (
    bytes[offset]! * 0x100_0000_0000 +
    bytes[offset + 1]! * 0x1_0000_0000 +
    ((bytes[offset + 2]! << 24) >>> 0) +
    (bytes[offset + 3]! << 16) +
    (bytes[offset + 4]! << 8) +
    bytes[offset + 5]!
  );
}

export function isMulticast(bytes: Uint8Array, offset = 0): boolean {
  return (bytes[offset]! & 1) !== 0;
}

export function isBroadcast(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < ETH_ADDR_SIZE; i++) if (bytes[offset + i] !== 0xff) return false;
  return true;
}

/**
 * A random locally administered unicast address (02:xx:xx:xx:xx:xx style): use one per NIC
 * when several NICs share a network (a switch, or v86's in-browser adapter across tabs).
 */
export function randomMac(random: () => number = Math.random): Uint8Array {
  const mac = Uint8Array.from({ length: ETH_ADDR_SIZE }, () => Math.floor(random() * 256) & 0xff);
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}

/** A MAC option as bytes: a string is parsed, bytes are copied; multicast addresses are refused. */
export function toMac(value: Uint8Array | string): Uint8Array {
  const mac = typeof value === "string" ? parseMac(value) : Uint8Array.from(value);
  if (mac.length !== ETH_ADDR_SIZE) throw new RangeError(`a MAC address has ${ETH_ADDR_SIZE} bytes, not ${mac.length}`);
  if (isMulticast(mac)) throw new RangeError(`${formatMac(mac)} is a multicast address`);
  return mac;
}

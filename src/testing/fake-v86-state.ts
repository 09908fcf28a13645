// Bytes shaped like the start of v86's saved state, for the state file's tests (the container
// reader checks that start, src/machine/state-file.ts): v86's magic, version 6, the total length.

/** `n` bytes shaped like v86's state: v86's magic, version 6 and `n` as its length, then `fill(i)`. */
export function fakeV86State(n: number, fill: (i: number) => number = (i) => i & 0xff): ArrayBuffer {
  const bytes = Uint8Array.from({ length: n }, (_, i) => fill(i));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x86768676, true);
  view.setUint32(4, 6, true);
  view.setUint32(8, n, true);
  view.setUint32(12, 0, true);
  return bytes.buffer;
}

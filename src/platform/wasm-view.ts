// A cached Int32Array over a fixed spot in a wasm memory. Growing a WebAssembly.Memory detaches
// its old ArrayBuffer and hands out a new one, so a view made once goes empty after a growth;
// making a new view on every access (what the MSI path did) costs an allocation per interrupt.
// This keeps one view and makes a new one only when the memory's buffer has changed.

/** The part of WebAssembly.Memory a view needs. */
export interface WasmBuffer {
  readonly buffer: ArrayBufferLike;
}

export class WasmWordsView {
  readonly #memory: WasmBuffer;
  readonly #byteOffset: number;
  readonly #length: number;
  #buffer: ArrayBufferLike;
  #words: Int32Array;
  /** Views made after the first (one per growth of the memory that was then accessed). */
  rebuilds = 0;

  constructor(memory: WasmBuffer, byteOffset: number, length: number) {
    if (byteOffset % 4 !== 0) throw new RangeError(`wasm view at ${byteOffset} is not word-aligned`);
    this.#memory = memory;
    this.#byteOffset = byteOffset;
    this.#length = length;
    this.#buffer = memory.buffer;
    this.#words = new Int32Array(this.#buffer, byteOffset, length);
  }

  /** The words, over the memory's current buffer. */
  get words(): Int32Array {
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#words = new Int32Array(buffer, this.#byteOffset, this.#length);
      this.rebuilds++;
    }
    return this.#words;
  }
}

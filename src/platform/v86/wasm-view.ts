// Cached typed arrays over fixed spots in v86's wasm memory: guest RAM, the CPU's flags and
// instruction counter, the local APIC's struct.
//
// Growing a WebAssembly.Memory detaches its old ArrayBuffer and hands out a new one, so a view
// made once goes empty after a growth. v86 answers that with views that are Proxies (its lib.js
// `view()`): every element read or write, and every method call, makes a new typed array over
// the memory's current buffer. That is correct and slow: about 1-2 µs and an allocation per
// access, measured here at 30 times a plain typed array's cost on cpu.mem8, which the devices
// read descriptor by descriptor. These keep one view and make a new one only when the memory's
// buffer has changed.

/** The part of WebAssembly.Memory a view needs. */
export interface WasmBuffer {
  readonly buffer: ArrayBufferLike;
}

type ViewConstructor<A> = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => A;

export class WasmArrayView<A> {
  readonly #make: ViewConstructor<A>;
  readonly #memory: WasmBuffer;
  readonly #byteOffset: number;
  readonly #length: number;
  #buffer: ArrayBufferLike;
  #array: A;
  /** Views made after the first (one per growth of the memory that was then accessed). */
  rebuilds = 0;

  constructor(make: ViewConstructor<A> & { readonly BYTES_PER_ELEMENT: number }, memory: WasmBuffer, byteOffset: number, length: number) {
    if (byteOffset % make.BYTES_PER_ELEMENT !== 0) {
      throw new RangeError(`wasm view at ${byteOffset} is not aligned to ${make.BYTES_PER_ELEMENT} bytes`);
    }
    this.#make = make;
    this.#memory = memory;
    this.#byteOffset = byteOffset;
    this.#length = length;
    this.#buffer = memory.buffer;
    this.#array = new make(this.#buffer, byteOffset, length);
  }

  /** The array, over the memory's current buffer. */
  get array(): A {
    const buffer = this.#memory.buffer;
    if (buffer !== this.#buffer) {
      this.#buffer = buffer;
      this.#array = new this.#make(buffer, this.#byteOffset, this.#length);
      this.rebuilds++;
    }
    return this.#array;
  }
}

/** The same spot as one of v86's Proxy views (`cpu.mem8`, `cpu.flags`, ...), as a cached view. */
export function cachedView<A>(
  make: ViewConstructor<A> & { readonly BYTES_PER_ELEMENT: number },
  memory: WasmBuffer,
  v86View: { readonly byteOffset: number; readonly length: number },
): WasmArrayView<A> {
  return new WasmArrayView(make, memory, v86View.byteOffset, v86View.length);
}

/** Int32 words, the APIC struct's unit. */
export class WasmWordsView extends WasmArrayView<Int32Array> {
  constructor(memory: WasmBuffer, byteOffset: number, length: number) {
    if (byteOffset % 4 !== 0) throw new RangeError(`wasm view at ${byteOffset} is not word-aligned`);
    super(Int32Array, memory, byteOffset, length);
  }

  get words(): Int32Array {
    return this.array;
  }
}

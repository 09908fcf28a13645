// The host features the core (src/virtio, src/devices, src/platform) may use beyond ECMAScript:
// only ones that browsers and Node both provide, declared with just the members the core calls.
// tsconfig.core.json compiles the core against ES2023 and this file alone (no DOM library, no
// Node typings), so anything else there (document, indexedDB, fetch, Buffer, process) is a
// compile error. Growing this list is a design decision: the core must keep running in both.
// Only the core project includes this file; the app's tsconfig.json takes these from the DOM
// library and @types/node instead.

/** UTF-8 only, as the core uses it (a block device's serial). */
interface TextEncoder {
  encode(input?: string): Uint8Array;
}
declare var TextEncoder: { new (): TextEncoder };

/** UTF-8, streaming (the guest's serial console arrives a byte at a time). */
interface TextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string;
}
declare var TextDecoder: { new (label?: string): TextDecoder };

/** Runs a callback after the current job, before any task. */
declare function queueMicrotask(callback: () => void): void;

/** Node's immediate task; absent in browsers, so the core must test for it before calling it. */
declare var setImmediate: ((callback: () => void) => unknown) | undefined;

/** The browsers' way to queue a task without setTimeout's clamp (Node has it too). */
interface MessagePort {
  onmessage: ((event: unknown) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}
interface MessageChannel {
  readonly port1: MessagePort;
  readonly port2: MessagePort;
}
declare var MessageChannel: { new (): MessageChannel };

/** v86 keeps its CPU state in a WebAssembly memory; the platform reads words out of it. */
declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
}

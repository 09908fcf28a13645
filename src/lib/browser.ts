// The package's `./browser` entry: block backends that need the web platform.

export { IdbBlockStore } from "../browser/idb-store.ts";
export { HttpRangeBackend, HttpRangeError, HttpTimeoutError, ImageChangedError } from "../browser/http-range-backend.ts";
export type { FetchLike, HttpRangeBackendOptions, ResponseLike } from "../browser/http-range-backend.ts";

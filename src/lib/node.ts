// The package's `./node` entry: a block backend on a file (Node's fs).

export { FileBackend } from "../node/file-backend.ts";
export type { FileBackendOptions } from "../node/file-backend.ts";

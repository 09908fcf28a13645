import { readFileSync } from "node:fs";
import { compareModes } from "../src/compare/compare.ts";
import { DEFAULT_GUEST, v86WasmPath } from "../src/node/paths.ts";
const buf = (p: string) => { const b = readFileSync(p); return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer; };
const images = { bios: buf(DEFAULT_GUEST.bios), vgaBios: buf(DEFAULT_GUEST.vgaBios), kernel: buf(process.env.KERNEL ?? DEFAULT_GUEST.kernel), initrd: buf(DEFAULT_GUEST.initrd) };
const keys = (process.argv[2] ?? "table,line").split(",") as any;
const r = await compareModes({ images, wasmPath: v86WasmPath() }, keys, (t) => console.error(t));
console.log(JSON.stringify(r, null, 1));
process.exit(0);

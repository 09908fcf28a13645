// A static file server for the tests and benchmarks: the production build under a sub-path, the
// way a static host such as a GitHub Pages project page serves it, with single HTTP Range
// requests (lazily fetched disks), HEAD, and ETag/Last-Modified with If-Range.
// Only files inside the root are served: the path is decoded once, every `..`, backslash, NUL
// and encoded slash is refused, and the real path (symlinks followed) must be inside the root.

import { createReadStream, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, isAbsolute, join, relative, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".md": "text/markdown; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

export type Resolved = { file: string } | { status: 400 | 403 | 404; reason: string };

/**
 * The file under `root` (a real, absolute path) that `requestPath` (a request's path, still
 * percent-encoded, query allowed) names below `prefix`, or the status that refuses it.
 */
export function resolveRequest(root: string, prefix: string, requestPath: string): Resolved {
  const rawPath = requestPath.split("?")[0]!.split("#")[0]!;
  if (!rawPath.startsWith(prefix)) return { status: 404, reason: `not under ${prefix}` };
  const encoded = rawPath.slice(prefix.length);
  // An encoded slash or backslash would let a "segment" hold a separator once decoded.
  if (/%2f|%5c/i.test(encoded)) return { status: 403, reason: "encoded separator" };
  let rel: string;
  try {
    rel = decodeURIComponent(encoded);
  } catch {
    return { status: 400, reason: "bad percent-encoding" };
  }
  if (rel.includes("\0") || rel.includes("\\")) return { status: 403, reason: "NUL or backslash" };
  const segments = rel.split("/");
  if (segments.some((s) => s === ".." || s === ".")) return { status: 403, reason: "dot segment" };
  if (rel.startsWith("/")) return { status: 403, reason: "absolute path" };
  if (rel === "" || rel.endsWith("/")) rel += "index.html";
  const file = join(root, ...rel.split("/"));
  if (!inside(root, file)) return { status: 403, reason: "outside the root" };
  let real: string;
  try {
    real = realpathSync(file);
    if (!statSync(real).isFile()) return { status: 404, reason: "not a file" };
  } catch {
    return { status: 404, reason: "not found" };
  }
  // A symlink inside the root may point anywhere.
  if (!inside(root, real)) return { status: 403, reason: "links outside the root" };
  return { file: real };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith(".." + sep) && rel !== ".." && !isAbsolute(rel);
}

export function createStaticServer(rootDir: string, prefix: string): Server {
  const root = realpathSync(rootDir);
  return createServer((req, res) => serve(root, prefix, req, res));
}

function serve(root: string, prefix: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD" }).end();
    return;
  }
  const found = resolveRequest(root, prefix, req.url ?? "/");
  if ("status" in found) {
    res.writeHead(found.status, { "content-type": "text/plain" }).end(found.reason);
    return;
  }
  const file = found.file;
  const st = statSync(file);
  const size = st.size;
  const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
  const lastModified = st.mtime.toUTCString();
  const headers: Record<string, string | number> = {
    "content-type": TYPES[extname(file)] ?? "application/octet-stream",
    "accept-ranges": "bytes",
    "cache-control": "no-cache",
    etag,
    "last-modified": lastModified,
  };
  // If-Range: the range only if the file is still the one the client saw, else the whole file.
  const ifRange = req.headers["if-range"];
  const current = ifRange === undefined || ifRange === etag || ifRange === lastModified;
  const range = current ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "") : null;
  if (range) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : size - 1, size - 1);
    if (start > end) {
      res.writeHead(416, { "content-range": `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, { ...headers, "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${size}` });
    if (req.method === "HEAD") res.end();
    else createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { ...headers, "content-length": size });
  if (req.method === "HEAD") res.end();
  else createReadStream(file).pipe(res);
}

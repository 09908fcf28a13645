// The e2e server must serve the build and nothing else on the machine: every traversal variant
// is sent as raw bytes on a socket (no client normalises it) and must get no byte of a sibling.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStaticServer } from "./static-files.ts";

const SECRET = "SECRET-SIBLING-BYTES";
let base: string;
let port: number;
let close: () => Promise<void>;

interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/** Sends `path` exactly as written in the request line. */
function rawGet(path: string, extraHeaders = "", method = "GET"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (d) => chunks.push(d));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const head = text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), headers: head, body: text.slice(split + 4) });
    });
    socket.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extraHeaders}\r\n`);
  });
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), "static-server-test-"));
  const site = join(base, "site");
  mkdirSync(join(site, "sub"), { recursive: true });
  writeFileSync(join(site, "index.html"), "<p>index</p>");
  writeFileSync(join(site, "sub", "b.txt"), "bee");
  writeFileSync(join(site, "disk.img"), Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff)));
  // Siblings: one whose name shares the root's as a prefix (a startsWith check lets it through).
  for (const sibling of ["sibling", "site2", "site-old"]) {
    mkdirSync(join(base, sibling));
    writeFileSync(join(base, sibling, "secret.txt"), SECRET);
  }
  writeFileSync(join(base, "secret.txt"), SECRET);
  symlinkSync(join(base, "sibling", "secret.txt"), join(site, "link.txt"));
  symlinkSync(join(base, "sibling"), join(site, "linkdir"));
  const server = createStaticServer(site, "/demo/");
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  close = () => new Promise((r) => server.close(() => r()));
});

afterAll(async () => {
  await close();
  rmSync(base, { recursive: true, force: true });
});

describe("static server", () => {
  it("serves the build under the prefix: index, files, HEAD, ranges", async () => {
    expect((await rawGet("/demo/")).body).toBe("<p>index</p>");
    expect((await rawGet("/demo/index.html?x=1")).body).toBe("<p>index</p>");
    expect((await rawGet("/demo/sub/b.txt")).body).toBe("bee");
    expect((await rawGet("/demo/sub/b%2Etxt")).body).toBe("bee");
    expect((await rawGet("/other/index.html")).status).toBe(404);
    const head = await rawGet("/demo/disk.img", "", "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers).toMatch(/content-length: 1000/i);
    expect(head.body).toBe("");
    const range = await rawGet("/demo/disk.img", "Range: bytes=10-13\r\n");
    expect(range.status).toBe(206);
    expect(range.headers).toMatch(/content-range: bytes 10-13\/1000/i);
    expect([...Buffer.from(range.body, "latin1")]).toEqual([10, 11, 12, 13]);
    expect((await rawGet("/demo/disk.img", "Range: bytes=2000-\r\n")).status).toBe(416);
  });

  it("honours If-Range: the range while the validator matches, the whole file once it does not", async () => {
    const etag = /etag: (.*)/i.exec((await rawGet("/demo/disk.img", "", "HEAD")).headers)![1]!.trim();
    expect((await rawGet("/demo/disk.img", `Range: bytes=0-3\r\nIf-Range: ${etag}\r\n`)).status).toBe(206);
    const stale = await rawGet("/demo/disk.img", `Range: bytes=0-3\r\nIf-Range: "other"\r\n`);
    expect(stale.status).toBe(200);
    expect(stale.body.length).toBe(1000);
  });

  const traversals = [
    "/demo/../sibling/secret.txt",
    "/demo/../site2/secret.txt",
    "/demo/..%2Fsite2%2Fsecret.txt",
    "/demo/..%2fsibling%2fsecret.txt",
    "/demo/..%2Fsecret.txt",
    "/demo/%2e%2e/sibling/secret.txt",
    "/demo/%2E%2E/site-old/secret.txt",
    "/demo/%2e%2e%2fsite2%2fsecret.txt",
    "/demo/.%2e/site2/secret.txt",
    "/demo/sub/../../sibling/secret.txt",
    "/demo/sub/%2e%2e/%2e%2e/sibling/secret.txt",
    "/demo/%252e%252e%252fsite2%252fsecret.txt",
    "/demo/%252e%252e/site2/secret.txt",
    "/demo/..\\site2\\secret.txt",
    "/demo/..%5csite2%5csecret.txt",
    "/demo/..%5Csecret.txt",
    "/demo/%c0%ae%c0%ae/site2/secret.txt",
    "/demo/..%c0%afsite2%c0%afsecret.txt",
    "/demo/%00../site2/secret.txt",
    "/demo/link.txt",
    "/demo/linkdir/secret.txt",
    "/demo/%zz",
  ];

  it.each(traversals)("refuses %s without a byte of a sibling", async (path) => {
    const r = await rawGet(path);
    expect([400, 403, 404]).toContain(r.status);
    expect(r.body).not.toContain(SECRET);
  });

  it("refuses absolute paths, plain and encoded", async () => {
    const file = join(base, "site2", "secret.txt");
    for (const path of [`/demo/${file}`, `/demo/${encodeURIComponent(file)}`, `/demo//${file}`, "/demo//etc/passwd", `/demo/${file.replace(/\//g, "\\")}`]) {
      const r = await rawGet(path);
      expect([400, 403, 404], path).toContain(r.status);
      expect(r.body).not.toContain(SECRET);
    }
  });

  it("still answers after malformed requests (nothing threw out of the handler)", async () => {
    await rawGet("/demo/%");
    await rawGet("/demo/%E0%A4%A");
    expect((await rawGet("/demo/sub/b.txt")).body).toBe("bee");
  });
});

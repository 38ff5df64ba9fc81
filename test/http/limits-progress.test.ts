/**
 * maxResponseSize (wire and decoded: a gzip bomb ends early, memory bounded), download and
 * upload progress through gzip, per-phase timeouts and the per-message deadline.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { ResponseTooLargeError } from "../../src/http/meter.js";
import { Message } from "../../src/http/message.js";
import type { DownloadProgress, UploadProgress } from "../../src/http/meter.js";
import { newSession, rejectsWithCode, startServer, text } from "./helpers.js";

// 64 MiB of zeros gzip to about 64 KiB.
const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));

describe("maxResponseSize", () => {
  it("a gzip bomb ends with RESPONSE_TOO_LARGE long before it inflates, memory bounded", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-length": String(bomb.length) });
      res.end(bomb);
    });
    const s = newSession({ maxResponseSize: 1024 * 1024 });
    const before = process.memoryUsage().arrayBuffers;
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "RESPONSE_TOO_LARGE");
    assert.ok(err instanceof ResponseTooLargeError);
    assert.match(err.message, /decoded/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 32 * 1024 * 1024, "did not inflate the whole bomb");
    // fetch too
    await rejectsWithCode((await s.fetch(srv.url)).arrayBuffer(), "RESPONSE_TOO_LARGE");
  });

  it("a declared Content-Length over the limit fails before the body is read; a message's own limit wins", async () => {
    const big = Buffer.alloc(200_000, 0x61);
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "content-length": String(big.length) });
      res.end(big);
    });
    const s = newSession({ maxResponseSize: 100_000 });
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "RESPONSE_TOO_LARGE");
    assert.match(err.message, /Content-Length/);
    const own = new Message("GET", srv.url);
    own.maxResponseSize = 0;
    assert.equal((await s.sendAndRead(own)).byteLength, big.length);
  });

  it("a chunked body without a length is cut at the limit on the wire", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200);
      for (let i = 0; i < 50; i++) res.write(Buffer.alloc(10_000, 0x62));
      res.end();
    });
    const s = newSession({ maxResponseSize: 100_000 });
    await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "RESPONSE_TOO_LARGE");
    const ok = newSession({ maxResponseSize: 1_000_000 });
    assert.equal((await ok.sendAndRead(new Message("GET", srv.url))).byteLength, 500_000);
  });
});

describe("progress", () => {
  it("download progress counts wire and decoded bytes through gzip, with the total", async () => {
    const plain = Buffer.alloc(300_000, 0x63);
    const gz = zlib.gzipSync(plain);
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "content-encoding": "gzip", "content-length": String(gz.length) });
      res.end(gz);
    });
    const s = newSession();
    const msg = new Message("GET", srv.url);
    const seen: DownloadProgress[] = [];
    msg.on("download-progress", (p) => seen.push(p));
    const body = await s.sendAndRead(msg);
    assert.equal(body.byteLength, plain.length);
    const last = seen.at(-1)!;
    assert.equal(last.decodedBytes, plain.length);
    assert.equal(last.wireBytes, gz.length);
    assert.equal(last.total, gz.length);
    assert.ok(seen.length > 1);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].decodedBytes >= seen[i - 1].decodedBytes);
  });

  it("upload progress for a stream body and for bytes", async () => {
    const srv = await startServer((_req, res, body) => res.end(String(body.length)));
    const s = newSession();
    const msg = new Message("POST", srv.url);
    msg.setRequestBody(
      "application/octet-stream",
      (async function* () {
        for (let i = 0; i < 4; i++) yield new Uint8Array(1000);
      })(),
    );
    const seen: UploadProgress[] = [];
    msg.on("upload-progress", (p) => seen.push(p));
    assert.equal(text(await s.sendAndRead(msg)), "4000");
    assert.deepEqual(
      seen.map((p) => p.bytes),
      [1000, 2000, 3000, 4000],
    );
    const bytes = new Message("POST", srv.url);
    bytes.setRequestBody("text/plain", "hello");
    const b: UploadProgress[] = [];
    bytes.on("upload-progress", (p) => b.push(p));
    await s.sendAndRead(bytes);
    assert.deepEqual(b, [{ bytes: 5, total: 5 }]);
  });
});

describe("timeouts per phase and the deadline", () => {
  it("headersTimeout fails a slow answer while the general timeout is long", async () => {
    const srv = await startServer((_req, res) => setTimeout(() => res.end("late"), 3000));
    const s = newSession({ timeout: 60_000, headersTimeout: 300 });
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "TIMEOUT");
    assert.match(err.message, /headers/);
  });

  it("bodyTimeout fails a body that stalls", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200);
      res.write("start");
    });
    const s = newSession({ timeout: 60_000, bodyTimeout: 300 });
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "TIMEOUT");
    assert.match(err.message, /body/);
  });

  it("a deadline covers retries and the body, and fails with TIMEOUT", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(503, { "retry-after": "1" });
      res.end();
    });
    const s = newSession({ retry: { limit: 10 } });
    const msg = new Message("GET", srv.url);
    msg.deadline = 1500;
    const t0 = Date.now();
    const err = await rejectsWithCode(s.sendAndRead(msg), "TIMEOUT");
    assert.match(err.message, /deadline/);
    assert.ok(Date.now() - t0 < 4000);
    assert.ok(srv.requests.length >= 1 && srv.requests.length <= 3);
  });
});

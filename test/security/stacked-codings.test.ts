/**
 * Issue 12 (2): a response that stacks thousands of content codings must be refused with a
 * typed error before any decoder is built, on a real server sending 2,000
 * `Content-Encoding: gzip` lines; a stack within the cap still decodes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { DecodeError } from "../../src/errors.js";
import { MAX_CONTENT_CODINGS, TooManyCodingsError } from "../../src/features/content-decoder.js";
import { Message } from "../../src/http/message.js";
import { newSession, rejectsWithCode, startRawServer, startServer, text } from "../http/helpers.js";

describe("stacked content codings", () => {
  it("`Content-Encoding: gzip` 2,000 times is refused with TOO_MANY_CODINGS, and the session goes on", async () => {
    // A raw server, so the bytes are exactly what an attacker sends. One line (10 KB) fits the
    // 16 KiB header limit; 2,000 separate lines would be refused earlier, as PROTOCOL_ERROR.
    let body = Buffer.from("payload");
    for (let i = 0; i < 3; i++) body = zlib.gzipSync(body);
    const lines = `Content-Encoding: ${Array(2000).fill("gzip").join(",")}\r\n`;
    const srv = await startRawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\n${lines}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      s.end(body);
    });
    const s = newSession();
    const before = process.memoryUsage().external;
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "TOO_MANY_CODINGS");
    assert.ok(err instanceof TooManyCodingsError);
    assert.ok(err instanceof DecodeError, "still a decode problem for code that catches DecodeError");
    assert.equal((err as TooManyCodingsError).count, 2000);
    // No zlib stream was built: 2,000 of them cost ~17 MiB of native memory.
    assert.ok(process.memoryUsage().external - before < 8 * 1024 * 1024, "no per-coding zlib state was allocated");

    const ok = await startServer((_req, res) => res.end("fine"));
    assert.equal(text(await s.sendAndRead(new Message("GET", `${ok.url}/`))), "fine");
  });

  it(`up to ${MAX_CONTENT_CODINGS} stacked codings still decode`, async () => {
    let body = Buffer.from("stacked but sane");
    for (let i = 0; i < MAX_CONTENT_CODINGS; i++) body = zlib.gzipSync(body);
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Encoding": Array(MAX_CONTENT_CODINGS).fill("gzip").join(", "), "Content-Length": body.length });
      res.end(body);
    });
    assert.equal(text(await newSession().sendAndRead(new Message("GET", `${srv.url}/`))), "stacked but sane");
  });

  it(`${MAX_CONTENT_CODINGS + 1} codings are one too many; identity entries do not count`, async () => {
    const srv = await startServer((req, res) => {
      const n = req.url === "/six" ? MAX_CONTENT_CODINGS + 1 : 1;
      res.writeHead(200, { "Content-Encoding": [...Array(n).fill("gzip"), ...Array(50).fill("identity")].join(", ") });
      res.end(zlib.gzipSync(Buffer.from("one")));
    });
    const s = newSession();
    await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/six`)), "TOO_MANY_CODINGS");
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/one`))), "one");
  });
});

import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { Message, Session } from "../../../src/index.js";
import { ContentSniffer, hasNoSniff } from "../../../src/features/sniffer/index.js";
import { PrefixedReadable, peekStream } from "../../../src/features/sniffer/peek.js";

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const routes: Record<string, Route> = {
  "/png": (_q, r) => r.end(Buffer.concat([PNG, Buffer.alloc(100, 7)])),
  "/short-html": (_q, r) => r.end("<html>"),
  "/big-binary-as-text": (_q, r) => {
    r.setHeader("Content-Type", "text/plain; charset=UTF-8");
    r.end(bigBody);
  },
  "/nosniff": (_q, r) => {
    r.setHeader("Content-Type", "text/plain; charset=UTF-8");
    r.setHeader("X-Content-Type-Options", "nosniff");
    r.end(PNG);
  },
  "/gzip-html": (_q, r) => {
    r.setHeader("Content-Encoding", "gzip");
    r.end(zlib.gzipSync("<!DOCTYPE html><title>x</title>"));
  },
  "/feed": (_q, r) => {
    r.setHeader("Content-Type", "text/html; charset=utf-8");
    r.end('<?xml version="1.0"?><rss version="2.0"><channel/></rss>');
  },
  "/no-content": (_q, r) => {
    r.statusCode = 204;
    r.setHeader("Content-Type", "image/png");
    r.end();
  },
  "/truncated": (_q, r) => {
    r.setHeader("Content-Length", "100000");
    r.write(Buffer.alloc(3000, 0x61), () => setTimeout(() => r.socket?.destroy(), 20));
  },
};
// Binary bytes well past the sniffing window, in many chunks, to check nothing is lost.
const bigBody = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));

let server: http.Server;
let base: string;
before(async () => {
  server = http.createServer((req, res) => (routes[req.url ?? ""] ?? ((_q, r) => ((r.statusCode = 404), r.end())))(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function fetchSniffed(path: string) {
  await using session = new Session({ features: [new ContentSniffer()] });
  const msg = new Message("GET", `${base}${path}`);
  const events: Array<[string, Record<string, string>]> = [];
  msg.on("content-sniffed", (t, p) => events.push([t, p]));
  const body = await session.sendAndRead(msg);
  return { msg, events, body: Buffer.from(body) };
}

describe("ContentSniffer through a Session", () => {
  it("sniffs a PNG sent without Content-Type, body unchanged", async () => {
    const { msg, events, body } = await fetchSniffed("/png");
    assert.deepEqual(msg.sniffedContentType, { contentType: "image/png", params: {} });
    assert.deepEqual(events, [["image/png", {}]]);
    assert.deepEqual(body, Buffer.concat([PNG, Buffer.alloc(100, 7)]));
  });

  it("a body shorter than the window is sniffed and delivered whole", async () => {
    const { msg, body } = await fetchSniffed("/short-html");
    assert.equal(msg.sniffedContentType?.contentType, "text/html");
    assert.equal(body.toString(), "<html>");
  });

  it("Apache bug: binary labelled text/plain is application/octet-stream; every byte arrives", async () => {
    const { msg, body } = await fetchSniffed("/big-binary-as-text");
    assert.equal(msg.sniffedContentType?.contentType, "application/octet-stream");
    assert.equal(body.length, bigBody.length);
    assert.ok(body.equals(bigBody));
  });

  it("X-Content-Type-Options: nosniff keeps the supplied type and its parameters", async () => {
    const { msg, events } = await fetchSniffed("/nosniff");
    assert.deepEqual(msg.sniffedContentType, { contentType: "text/plain", params: { charset: "UTF-8" } });
    assert.deepEqual(events, [["text/plain", { charset: "UTF-8" }]]);
  });

  it("sniffs decoded bytes (runs after ContentDecoder)", async () => {
    const { msg, body } = await fetchSniffed("/gzip-html");
    assert.equal(msg.sniffedContentType?.contentType, "text/html");
    assert.equal(body.toString(), "<!DOCTYPE html><title>x</title>");
  });

  it("a feed labelled text/html is recognised", async () => {
    const { msg } = await fetchSniffed("/feed");
    assert.equal(msg.sniffedContentType?.contentType, "application/rss+xml");
  });

  it("a bodiless response reports the supplied type without reading", async () => {
    const { msg, body } = await fetchSniffed("/no-content");
    assert.equal(msg.sniffedContentType?.contentType, "image/png");
    assert.equal(body.length, 0);
  });

  it("a body that dies after the sniffing window fails the read", async () => {
    await using session = new Session({ features: [new ContentSniffer()] });
    const msg = new Message("GET", `${base}/truncated`);
    await assert.rejects(session.sendAndRead(msg));
    assert.equal(msg.sniffedContentType?.contentType, "text/plain");
  });

  it("send() streams: the ResponseBody yields every byte after sniffing", async () => {
    await using session = new Session({ features: [new ContentSniffer()] });
    const msg = new Message("GET", `${base}/big-binary-as-text`);
    const body = await session.send(msg);
    assert.equal(msg.sniffedContentType?.contentType, "application/octet-stream");
    let n = 0;
    for await (const c of body) n += c.length;
    assert.equal(n, bigBody.length);
  });
});

describe("peeking without consuming", () => {
  it("keeps backpressure: a consumer that stops reading pauses the source", async () => {
    const chunks = Array.from({ length: 200 }, (_, i) => Buffer.alloc(16 * 1024, i));
    let pulled = 0;
    const source = new Readable({
      highWaterMark: 16 * 1024,
      read() {
        this.push(pulled < chunks.length ? chunks[pulled++] : null);
      },
    });
    const peeked = await peekStream(source, 1445);
    assert.ok(peeked.length >= 1445);
    const out = new PrefixedReadable(source, peeked);
    let got = 0;
    let pausedOnce = false;
    out.on("data", (c: Buffer) => {
      got += c.length;
      if (got > 64 * 1024 && !pausedOnce) {
        pausedOnce = true;
        out.pause();
      }
    });
    await new Promise((r) => setTimeout(r, 50));
    // Paused early: far from all 200 chunks have been pulled from the source.
    assert.ok(pulled < 40, `pulled ${pulled} chunks while the consumer was paused`);
    out.resume();
    await new Promise((r) => out.once("end", r));
    assert.equal(got, 200 * 16 * 1024);
  });

  it("an ended source is replayed exactly", async () => {
    const source = Readable.from([Buffer.from("ab"), Buffer.from("cd")]);
    const peeked = await peekStream(source, 1445);
    assert.equal(peeked.ended, true);
    const parts: Buffer[] = [];
    for await (const c of new PrefixedReadable(source, peeked)) parts.push(c as Buffer);
    assert.equal(Buffer.concat(parts).toString(), "abcd");
  });

  it("hasNoSniff reads only the first value, case-insensitively", () => {
    assert.equal(hasNoSniff("NoSniff"), true);
    assert.equal(hasNoSniff("nosniff, foo"), true);
    assert.equal(hasNoSniff("foo, nosniff"), false);
    assert.equal(hasNoSniff(null), false);
  });
});

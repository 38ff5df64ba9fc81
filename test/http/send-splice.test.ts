/**
 * The three ways to get a body (send() streaming, sendAndRead, sendAndSplice into a
 * Writable with closeSource/closeTarget) and preconnect handing its socket to the next
 * request.
 */
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { describe, it } from "node:test";
import { Message, MessageFlags } from "../../src/http/message.js";
import { newSession, rejectsWithCode, sleep, startServer, text, until } from "./helpers.js";

class Sink extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
}

describe("send() streaming", () => {
  it("resolves at the headers and streams the body as it arrives", async () => {
    let finish: () => void = () => undefined;
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain", "X-Test": "1" });
      res.write("first;");
      finish = () => res.end("second");
    });
    const s = newSession();
    const msg = new Message("GET", `${srv.url}/`);
    let gotHeaders = 0;
    msg.on("got-headers", () => gotHeaders++);
    const body = await s.send(msg);
    assert.equal(msg.status, 200);
    assert.equal(msg.responseHeaders.get("x-test"), "1");
    assert.equal(gotHeaders, 1);
    const it = body[Symbol.asyncIterator]();
    assert.equal(text((await it.next()).value as Uint8Array), "first;");
    finish();
    const rest: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(text(r.value));
    assert.equal(rest.join(""), "second");
  });

  it("ResponseBody readers: text, json, bytes; a body can be read once", async () => {
    const srv = await startServer((req, res) => res.end(req.url === "/json" ? '{"a":[1,2]}' : "héllo"));
    const s = newSession();
    const b1 = await s.send(new Message("GET", `${srv.url}/t`));
    assert.equal(await b1.text(), "héllo");
    assert.equal(b1.bodyUsed, true);
    await assert.rejects(async () => b1.bytes(), TypeError);
    const b2 = await s.send(new Message("GET", `${srv.url}/json`));
    assert.deepEqual(await b2.json(), { a: [1, 2] });
    const b3 = await s.send(new Message("GET", `${srv.url}/t`));
    assert.equal(Buffer.from(await b3.bytes()).toString(), "héllo");
    assert.equal(srv.accepted, 1, "fully read bodies give the connection back");
  });

  it("cancel() discards the rest and closes that connection", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "1000000" });
      res.write(Buffer.alloc(1000));
    });
    const s = newSession();
    const unq: string[] = [];
    s.on("request-unqueued", () => unq.push("u"));
    const body = await s.send(new Message("GET", `${srv.url}/`));
    body.cancel();
    await srv.closedSockets(1);
    await until(() => unq.length === 1);
    assert.equal(s.connectionCount, 0);
  });

  it("an unread body holds its connection; the next request to the origin opens another", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const s = newSession();
    const b1 = await s.send(new Message("GET", `${srv.url}/1`));
    await s.sendAndRead(new Message("GET", `${srv.url}/2`));
    assert.equal(srv.accepted, 2);
    assert.equal(await b1.text(), "x");
  });

  it("the body stream is a Node Readable for piping", async () => {
    const srv = await startServer((_req, res) => res.end("piped"));
    const s = newSession();
    const body = await s.send(new Message("GET", `${srv.url}/`));
    const sink = new Sink();
    await new Promise<void>((resolve, reject) => body.stream.pipe(sink).on("finish", resolve).on("error", reject));
    assert.equal(sink.text, "piped");
  });
});

describe("sendAndSplice", () => {
  it("writes the body into the Writable, ends it, returns the byte count and keeps the connection", async () => {
    const payload = "z".repeat(200_000);
    const srv = await startServer((_req, res) => res.end(payload));
    const s = newSession();
    const sink = new Sink();
    let finished = false;
    sink.on("finish", () => (finished = true));
    const n = await s.sendAndSplice(new Message("GET", `${srv.url}/`), sink);
    assert.equal(n, payload.length);
    assert.equal(sink.text, payload);
    assert.equal(finished, true, "closeTarget defaults to true");
    await s.sendAndRead(new Message("GET", `${srv.url}/again`));
    assert.equal(srv.accepted, 1, "the connection went back to the pool");
  });

  it("closeTarget: false leaves the Writable open for more", async () => {
    const srv = await startServer((req, res) => res.end(`part${req.url}`));
    const s = newSession();
    const sink = new Sink();
    await s.sendAndSplice(new Message("GET", `${srv.url}/1`), sink, { closeTarget: false });
    assert.equal(sink.writableEnded, false);
    await s.sendAndSplice(new Message("GET", `${srv.url}/2`), sink, { closeTarget: false });
    sink.end("!");
    assert.equal(sink.text, "part/1part/2!");
  });

  it("closeSource: false still releases a fully read body's connection", async () => {
    const srv = await startServer((_req, res) => res.end("abc"));
    const s = newSession();
    const sink = new Sink();
    assert.equal(await s.sendAndSplice(new Message("GET", `${srv.url}/`), sink, { closeSource: false }), 3);
    await s.sendAndRead(new Message("GET", `${srv.url}/`));
    assert.equal(srv.accepted, 1);
  });

  it("a decoded body is spliced decoded (counting decoded bytes)", async () => {
    const { gzipSync } = await import("node:zlib");
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Encoding": "gzip" });
      res.end(gzipSync("decoded!".repeat(100)));
    });
    const sink = new Sink();
    assert.equal(await newSession().sendAndSplice(new Message("GET", `${srv.url}/`), sink), 800);
    assert.equal(sink.text, "decoded!".repeat(100));
  });

  it("a failing Writable rejects and the connection is dropped, not reused", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "100000" });
      res.write(Buffer.alloc(50_000));
      setTimeout(() => res.end(Buffer.alloc(50_000)), 50);
    });
    const s = newSession();
    const bad = new Writable({
      write(_c, _e, cb) {
        cb(new Error("disk full"));
      },
    });
    await assert.rejects(s.sendAndSplice(new Message("GET", `${srv.url}/`), bad), /disk full/);
    await srv.closedSockets(1);
  });

  it("aborting a splice mid-body rejects with ABORTED; the target is not ended", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "100000" });
      res.write(Buffer.alloc(1000));
    });
    const s = newSession();
    const ac = new AbortController();
    const sink = new PassThrough();
    sink.resume();
    const p = s.sendAndSplice(new Message("GET", `${srv.url}/`), sink, { signal: ac.signal });
    await until(() => srv.requests.length === 1);
    await sleep(30);
    ac.abort();
    await rejectsWithCode(p, "ABORTED");
    await srv.closedSockets(1);
  });

  it("the server dying mid-body rejects with a typed error", async () => {
    const srv = await startServer((req, res) => {
      res.writeHead(200, { "Content-Length": "100000" });
      res.write(Buffer.alloc(1000), () => setTimeout(() => req.socket.destroy(), 20));
    });
    const s = newSession();
    await assert.rejects(s.sendAndSplice(new Message("GET", `${srv.url}/`), new Sink()), (e: Error & { code?: string }) => {
      assert.ok(["BODY_INCOMPLETE", "CONNECTION_RESET"].includes(e.code ?? ""), `code ${e.code} (${e.message})`);
      return true;
    });
  });
});

describe("preconnect", () => {
  it("opens a connection without sending; the next request takes it over", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession();
    const msg = new Message("GET", `${srv.url}/`);
    await s.preconnect(msg);
    await until(() => srv.accepted === 1, 5000, "the server saw the connection");
    assert.equal(srv.requests.length, 0);
    assert.equal(s.connectionCount, 1);
    assert.equal(s.idleConnectionCount, 1);
    await s.preconnect(msg); // already one idle: nothing new
    assert.equal(text(await s.sendAndRead(msg)), "ok");
    assert.equal(srv.accepted, 1, "only one connection ever");
    assert.equal(srv.requests[0].socketId, 0);
  });

  it("a preconnected socket is counted against the limits", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ maxConnsPerHost: 1 });
    await s.preconnect(new Message("GET", `${srv.url}/`));
    await Promise.all([1, 2, 3].map((i) => s.sendAndRead(new Message("GET", `${srv.url}/${i}`))));
    assert.equal(srv.accepted, 1);
    assert.equal(srv.maxOpen, 1);
  });

  it("NEW_CONNECTION does not take the preconnected socket", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession();
    await s.preconnect(new Message("GET", `${srv.url}/`));
    const msg = new Message("GET", `${srv.url}/fresh`);
    msg.addFlags(MessageFlags.NEW_CONNECTION);
    await s.sendAndRead(msg);
    assert.equal(srv.accepted, 2);
    assert.equal(srv.requests[0].socketId, 1);
  });

  it("a preconnect that cannot connect rejects with CONNECTION_FAILED and leaves no connection", async () => {
    const srv = await startServer(() => undefined);
    const port = srv.port;
    await srv.close();
    const s = newSession();
    await rejectsWithCode(s.preconnect(new Message("GET", `http://127.0.0.1:${port}/`)), "CONNECTION_FAILED");
    assert.equal(s.connectionCount, 0);
  });

  it("an idle preconnected socket is closed by idleTimeout", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ idleTimeout: 150 });
    await s.preconnect(new Message("GET", `${srv.url}/`));
    await srv.closedSockets(1);
    assert.equal(s.connectionCount, 0);
  });
});

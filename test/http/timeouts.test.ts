/**
 * idleTimeout, the socket I/O timeout, AbortSignal, session.abort() and close() /
 * Symbol.asyncDispose, observed against loopback servers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AbortError } from "../../src/errors.js";
import { Message } from "../../src/http/message.js";
import { Session } from "../../src/http/session.js";
import { defer, gate, newSession, rejectsWithCode, sleep, startServer, text, until } from "./helpers.js";

const get = (url: string) => new Message("GET", url);

describe("idleTimeout", () => {
  it("closes an idle keep-alive connection after idleTimeout (server sees the close)", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ idleTimeout: 200 });
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/`))), "ok");
    const idleFrom = Date.now();
    assert.equal(s.idleConnectionCount, 1);
    await srv.closedSockets(1);
    const idleFor = Date.now() - idleFrom;
    assert.ok(idleFor >= 180, `closed after ${idleFor} ms, before idleTimeout`);
    assert.ok(idleFor < 5000, `closed only after ${idleFor} ms`);
    assert.equal(s.connectionCount, 0);
  });

  it("a connection reused before idleTimeout stays the same socket", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ idleTimeout: 300 });
    await s.sendAndRead(get(`${srv.url}/1`));
    await sleep(50);
    await s.sendAndRead(get(`${srv.url}/2`));
    assert.equal(srv.accepted, 1);
    assert.deepEqual(
      srv.requests.map((r) => r.socketId),
      [0, 0],
    );
  });

  it("idleTimeout 0 keeps idle connections open", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ idleTimeout: 0 });
    await s.sendAndRead(get(`${srv.url}/`));
    await sleep(250);
    assert.equal(srv.open, 1);
    assert.equal(srv.closedCount, 0);
  });
});

describe("timeout", () => {
  // undici runs its header/body timers on a ~1 s "fast timer" clock, so each of these takes
  // about a second whatever the timeout: they run side by side to keep the file quick.
  it("TIMEOUT when the headers never come, when the body stalls, and after changing session.timeout", async () => {
    const silent = await startServer(() => undefined);
    const stalling = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "10" });
      res.write("hello");
    });
    const headers = (async () => {
      const s = newSession({ timeout: 200 });
      const t0 = Date.now();
      const err = await rejectsWithCode(s.sendAndRead(get(`${silent.url}/stall`)), "TIMEOUT");
      assert.equal(err.name, "TimeoutError");
      assert.ok(Date.now() - t0 >= 180, "not before the timeout");
    })();
    const body = (async () => {
      const s = newSession({ timeout: 200 });
      const b = await s.send(get(`${stalling.url}/`));
      await rejectsWithCode(b.bytes(), "TIMEOUT");
    })();
    const changed = (async () => {
      const s = newSession({ timeout: 60_000 });
      s.timeout = 150;
      assert.equal(s.timeout, 150);
      await rejectsWithCode(s.sendAndRead(get(`${silent.url}/changed`)), "TIMEOUT");
    })();
    await Promise.all([headers, body, changed]);
  });

  it("timeout 0 waits as long as it takes", async () => {
    const srv = await startServer((_req, res) => setTimeout(() => res.end("late"), 250));
    const s = newSession({ timeout: 0 });
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/`))), "late");
  });
});

describe("abort", () => {
  it("an AbortSignal aborted before the headers rejects with ABORTED", async () => {
    const g = gate();
    const srv = await startServer(g.handler);
    const s = newSession();
    const ac = new AbortController();
    const p = s.sendAndRead(get(`${srv.url}/`), { signal: ac.signal });
    await until(() => g.held === 1);
    ac.abort();
    const err = await rejectsWithCode(p, "ABORTED");
    assert.ok(err instanceof AbortError);
    await srv.closedSockets(1);
  });

  it("an already-aborted signal rejects without touching the network", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession();
    await rejectsWithCode(s.sendAndRead(get(`${srv.url}/`), { signal: AbortSignal.abort() }), "ABORTED");
    assert.equal(srv.accepted, 0);
  });

  it("aborting mid-body rejects the body read with ABORTED and closes the socket", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "100000" });
      res.write("x".repeat(1000));
    });
    const s = newSession();
    const ac = new AbortController();
    const body = await s.send(get(`${srv.url}/`), { signal: ac.signal });
    const it = body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    const rest = (async () => {
      for (;;) if ((await it.next()).done) return;
    })();
    ac.abort();
    await rejectsWithCode(rest, "ABORTED");
    await srv.closedSockets(1);
    assert.equal(s.connectionCount, 0);
  });

  it("session.abort() rejects every pending request (running and queued) and closes idle connections", async () => {
    const g = gate();
    const busy = await startServer(g.handler);
    const idleSrv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ maxConnsPerHost: 1 });
    await s.sendAndRead(get(`${idleSrv.url}/`));
    assert.equal(s.idleConnectionCount, 1);
    const unqueued: Message[] = [];
    s.on("request-unqueued", (m) => unqueued.push(m));
    const msgs = [get(`${busy.url}/1`), get(`${busy.url}/2`), get(`${busy.url}/3`)];
    const pending = msgs.map((m) => s.sendAndRead(m));
    await until(() => g.held === 1);
    s.abort();
    for (const p of pending) await rejectsWithCode(p, "ABORTED");
    await idleSrv.closedSockets(1);
    await busy.closedSockets(1);
    assert.equal(unqueued.length, 3);
    // The session stays usable after abort().
    assert.equal(text(await s.sendAndRead(get(`${idleSrv.url}/again`))), "ok");
  });

  it("session.abort() fails a body being read", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200, { "Content-Length": "10" });
      res.write("hello");
    });
    const s = newSession();
    const body = await s.send(get(`${srv.url}/`));
    const all = body.bytes();
    await sleep(20);
    s.abort();
    await rejectsWithCode(all, "ABORTED");
  });
});

describe("close", () => {
  it("close() aborts pending requests, closes sockets, and refuses new requests", async () => {
    const g = gate();
    const srv = await startServer(g.handler);
    const s = new Session({ proxyResolver: null });
    const p = s.sendAndRead(get(`${srv.url}/`));
    await until(() => g.held === 1);
    await s.close();
    assert.equal(s.closed, true);
    await rejectsWithCode(p, "ABORTED");
    await srv.closedSockets(1);
    await rejectsWithCode(s.sendAndRead(get(`${srv.url}/`)), "SESSION_CLOSED");
    await s.close(); // idempotent
  });

  it("await using closes the session at the end of the block", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    let outer: Session;
    {
      await using s = new Session({ proxyResolver: null });
      outer = s;
      await s.sendAndRead(get(`${srv.url}/`));
      assert.equal(srv.open, 1);
    }
    assert.equal(outer.closed, true);
    await srv.closedSockets(1);
    defer(() => outer.close());
  });
});

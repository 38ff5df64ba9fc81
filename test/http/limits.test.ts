/**
 * Connection limits, observed on the server side: maxConnsPerHost (default 2) and maxConns
 * (default 10) are hard limits, and when only the session-wide limit is in the way an idle
 * connection to another origin is closed instead of making the request wait. Also: waiter
 * priority, NEW_CONNECTION, and the one retry of an idempotent request whose reused
 * connection died under it.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { Message, MessageFlags, MessagePriority } from "../../src/http/message.js";
import { gate, newSession, rejectsWithCode, sleep, startServer, text, until, type TestServer } from "./helpers.js";

const get = (url: string) => new Message("GET", url);

describe("connection limits", () => {
  it("defaults are maxConns 10 and maxConnsPerHost 2", () => {
    const s = newSession();
    assert.equal(s.maxConns, 10);
    assert.equal(s.maxConnsPerHost, 2);
  });

  it("rejects invalid limits synchronously", () => {
    assert.throws(() => newSession({ maxConns: 0 }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => newSession({ maxConnsPerHost: 1.5 }), { code: "INVALID_ARGUMENT" });
    const s = newSession();
    assert.throws(() => (s.maxConns = -1), { code: "INVALID_ARGUMENT" });
  });

  it("maxConnsPerHost (default 2): five concurrent requests to one origin use two sockets", async () => {
    const g = gate();
    const srv = await startServer(g.handler);
    const s = newSession();
    const all = Array.from({ length: 5 }, (_, i) => s.sendAndRead(get(`${srv.url}/r${i}`)));
    await until(() => g.held === 2, 5000, "two parked requests");
    await sleep(100);
    assert.equal(g.held, 2, "no third request reached the server while two were in flight");
    assert.equal(srv.open, 2);
    // Release in waves until all five are answered.
    while (srv.requests.length < 5 || g.held > 0) {
      g.release();
      await sleep(10);
    }
    const bodies = await Promise.all(all);
    assert.deepEqual(bodies.map(text), ["ok", "ok", "ok", "ok", "ok"]);
    assert.equal(srv.maxOpen, 2);
    assert.equal(srv.accepted, 2, "the two connections were reused");
  });

  it("maxConns (default 10) caps sockets across origins", async () => {
    const gates = Array.from({ length: 6 }, () => gate());
    const servers: TestServer[] = [];
    for (const g of gates) servers.push(await startServer(g.handler));
    let maxTotal = 0;
    const total = () => servers.reduce((n, s) => n + s.open, 0);
    const sampler = setInterval(() => (maxTotal = Math.max(maxTotal, total())), 2);
    const s = newSession();
    const all = servers.flatMap((srv) => [0, 1, 2].map((i) => s.sendAndRead(get(`${srv.url}/${i}`))));
    const held = () => gates.reduce((n, g) => n + g.held, 0);
    await until(() => held() === 10, 5000, "ten parked requests");
    await sleep(100);
    assert.equal(held(), 10, "the eleventh request waited for a connection");
    assert.equal(total(), 10);
    assert.equal(s.connectionCount, 10);
    while (servers.reduce((n, srv) => n + srv.requests.length, 0) < 18 || held() > 0) {
      for (const g of gates) g.release();
      await sleep(10);
    }
    await Promise.all(all);
    clearInterval(sampler);
    maxTotal = Math.max(maxTotal, total());
    assert.ok(maxTotal <= 10, `at most 10 sockets at once, saw ${maxTotal}`);
    for (const srv of servers) assert.ok(srv.maxOpen <= 2);
  });

  it("raising maxConnsPerHost at run time lets waiting requests use more connections", async () => {
    const g = gate();
    const srv = await startServer(g.handler);
    const s = newSession({ maxConnsPerHost: 1 });
    const all = [0, 1, 2].map((i) => s.sendAndRead(get(`${srv.url}/${i}`)));
    await until(() => g.held === 1);
    await sleep(50);
    assert.equal(g.held, 1);
    s.maxConnsPerHost = 3;
    // Releasing the first lets the pool drain its waiters under the new limit.
    g.release();
    await until(() => g.held === 2, 5000, "both waiters dispatched");
    g.release();
    await Promise.all(all);
    assert.equal(srv.maxOpen, 2);
  });

  it("at the session-wide limit an idle connection to another origin is closed instead of waiting", async () => {
    const a = await startServer((_req, res) => res.end("a"));
    const b = await startServer((_req, res) => res.end("b"));
    const s = newSession({ maxConns: 2, maxConnsPerHost: 2 });
    // Two connections to A, both idle afterwards.
    await Promise.all([s.sendAndRead(get(`${a.url}/1`)), s.sendAndRead(get(`${a.url}/2`))]);
    assert.equal(a.accepted, 2);
    await until(() => s.idleConnectionCount === 2, 5000, "two idle connections");
    const t0 = Date.now();
    const body = await s.sendAndRead(get(`${b.url}/x`));
    assert.equal(text(body), "b");
    assert.ok(Date.now() - t0 < 10_000, "the request did not wait for the 60 s idle timeout");
    await a.closedSockets(1);
    assert.equal(a.open, 1, "exactly one idle connection to A was closed");
    assert.equal(s.connectionCount, 2);
  });

  it("busy connections are never evicted: the request waits for one to finish", async () => {
    const g = gate((res) => res.end("a"));
    const a = await startServer(g.handler);
    const b = await startServer((_req, res) => res.end("b"));
    const s = newSession({ maxConns: 1 });
    const first = s.sendAndRead(get(`${a.url}/`));
    await until(() => g.held === 1);
    let bDone = false;
    const second = s.sendAndRead(get(`${b.url}/`)).then((r) => ((bDone = true), r));
    await sleep(100);
    assert.equal(bDone, false);
    assert.equal(b.accepted, 0);
    g.release();
    assert.equal(text(await first), "a");
    assert.equal(text(await second), "b");
    await a.closedSockets(1);
    assert.equal(b.maxOpen + a.open, 1);
  });

  it("waiting requests are served highest priority first, FIFO within a priority", async () => {
    const g = gate((res, req) => res.end(req.url));
    const srv = await startServer(g.handler);
    const s = newSession({ maxConnsPerHost: 1 });
    const first = s.sendAndRead(get(`${srv.url}/first`));
    await until(() => g.held === 1);
    const queued = [
      ["low", MessagePriority.LOW],
      ["normal-1", MessagePriority.NORMAL],
      ["very-high", MessagePriority.VERY_HIGH],
      ["normal-2", MessagePriority.NORMAL],
      ["high", MessagePriority.HIGH],
    ] as const;
    const all = queued.map(([name, priority]) => s.sendAndRead(get(`${srv.url}/${name}`), { priority }));
    await sleep(30);
    while (srv.requests.length < 6 || g.held > 0) {
      g.release();
      await sleep(5);
    }
    await Promise.all([first, ...all]);
    assert.deepEqual(
      srv.requests.map((r) => r.url),
      ["/first", "/very-high", "/high", "/normal-1", "/normal-2", "/low"],
    );
  });

  it("a keep-alive connection the server closed while idle is not reused (no error)", async () => {
    const server = http.createServer({ keepAliveTimeout: 50 }, (_req, res) => res.end("ok"));
    let accepted = 0;
    server.on("connection", () => accepted++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const s = newSession();
      await s.sendAndRead(get(`${url}/1`));
      await until(() => s.connectionCount === 0, 5000, "the session noticed the close");
      const post = new Message("POST", `${url}/2`);
      post.setRequestBody("text/plain", "x");
      assert.equal(text(await s.sendAndRead(post)), "ok");
      assert.equal(accepted, 2);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it("NEW_CONNECTION at the per-host limit replaces an idle connection of that host", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession({ maxConnsPerHost: 1 });
    await s.sendAndRead(get(`${srv.url}/1`));
    const msg = get(`${srv.url}/2`);
    msg.addFlags(MessageFlags.NEW_CONNECTION);
    await s.sendAndRead(msg);
    assert.equal(srv.accepted, 2);
    assert.deepEqual(
      srv.requests.map((r) => r.socketId),
      [0, 1],
    );
    await srv.closedSockets(1);
    assert.equal(s.connectionCount, 1);
  });
});

describe("a reused connection that dies as the request is sent", () => {
  /** Answers the first request on each socket; kills the socket on the second (a keep-alive race). */
  async function racy(): Promise<TestServer> {
    const perSocket = new WeakMap<object, number>();
    return startServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      if (n === 2) req.socket.destroy();
      else res.end(`ok ${req.method}`);
    });
  }

  it("an idempotent method is retried once on a fresh connection", async () => {
    const srv = await racy();
    const s = newSession();
    await s.sendAndRead(get(`${srv.url}/a`));
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/b`))), "ok GET");
    assert.equal(srv.accepted, 2);
    assert.deepEqual(
      srv.requests.map((r) => r.url),
      ["/a", "/b", "/b"],
    );
  });

  it("POST is not retried: the caller gets CONNECTION_RESET", async () => {
    const srv = await racy();
    const s = newSession();
    await s.sendAndRead(get(`${srv.url}/a`));
    const post = new Message("POST", `${srv.url}/p`);
    post.setRequestBody("text/plain", "once");
    await rejectsWithCode(s.sendAndRead(post), "CONNECTION_RESET");
    assert.equal(srv.requests.filter((r) => r.url === "/p").length, 1);
  });

  it("POST with the IDEMPOTENT flag is retried", async () => {
    const srv = await racy();
    const s = newSession();
    await s.sendAndRead(get(`${srv.url}/a`));
    const post = new Message("POST", `${srv.url}/p`);
    post.setRequestBody("text/plain", "twice is fine");
    post.addFlags(MessageFlags.IDEMPOTENT);
    assert.equal(text(await s.sendAndRead(post)), "ok POST");
  });

  it("a fresh connection that dies is not retried", async () => {
    const srv = await startServer((req) => req.socket.destroy());
    const s = newSession();
    await rejectsWithCode(s.sendAndRead(get(`${srv.url}/`)), "CONNECTION_RESET");
    assert.equal(srv.requests.length, 1);
  });
});

/**
 * Connection limits, observed on the server side: maxConnsPerHost (default 2) and maxConns
 * (default 10) are hard limits, and when only the session-wide limit is in the way an idle
 * connection to another origin is closed instead of making the request wait.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message } from "../../src/http/message.js";
import { gate, newSession, sleep, startServer, text, until, type TestServer } from "./helpers.js";

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
    await until(() => g.held === 2, 2000, "two parked requests");
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
    await until(() => held() === 10, 2000, "ten parked requests");
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
    await until(() => g.held === 2, 2000, "both waiters dispatched");
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
    await until(() => s.idleConnectionCount === 2, 1000, "two idle connections");
    const t0 = Date.now();
    const body = await s.sendAndRead(get(`${b.url}/x`));
    assert.equal(text(body), "b");
    assert.ok(Date.now() - t0 < 1000, "the request did not wait for the idle timeout");
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
});

/**
 * Issue 12 (6): anonymous sessions are capped. Limits on live sessions (in all, per client
 * address), on handshakes in progress (in all, per address), a short keep-alive for
 * sessions that never spoke, and a close reason the client reads as a typed error.
 * Issue 13: an upgrade on another path gets a 404 that names the endpoint's path, and the
 * client's error says what the server answered.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { WebSocket } from "ws";
import { Session } from "../../src/http/session.js";
import {
  CloseReason,
  closeCodeOf,
  RealtimeServer,
  RealtimeSession,
  RealtimeSessionClosedError,
  SUBPROTOCOL,
  UpgradeRefusedError,
} from "../../src/realtime/index.js";
import { addressKey } from "../../src/realtime/server-limits.js";
import { startServer, waitFor } from "./helpers.js";

/** A raw socket that has done the WebSocket upgrade and nothing else; `addr` fakes its client address. */
async function rawSocket(url: string, addr?: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(url, [SUBPROTOCOL], addr ? { headers: { "x-test-addr": addr } } : {});
  ws.on("error", () => {});
  const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
  await new Promise((resolve) => {
    ws.once("open", resolve);
    ws.once("close", resolve);
  });
  return { ws, closed };
}

/** Sends a hello: true when a welcome comes back, false when the socket is closed instead. */
function admitted(sock: { ws: WebSocket; closed: Promise<number> }): Promise<boolean> {
  if (sock.ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
  sock.ws.send(JSON.stringify({ t: "hello", v: 1, principal: "", credentials: "AAA=", properties: {} }));
  return Promise.race([new Promise<boolean>((r) => sock.ws.once("message", () => r(true))), sock.closed.then(() => false)]);
}

const byHeader = (req: http.IncomingMessage) => String(req.headers["x-test-addr"] ?? req.socket.remoteAddress);

/** An HTTP Session whose upgrades claim to come from `addr` (through the test's clientAddress). */
function from(addr: string): Session {
  return new Session({
    features: [
      {
        beforeSend(msg) {
          msg.requestHeaders.set("x-test-addr", addr);
        },
      },
    ],
  });
}

test("sessions from one address are capped without an authenticator; the client gets TOO_MANY_SESSIONS as a typed error", async () => {
  const { server, url } = await startServer({ maxSessionsPerAddress: 2, clientAddress: byHeader });
  await using _server = server;
  await using httpA = from("10.0.0.1");
  await using httpB = from("10.0.0.2");
  const a1 = await new RealtimeSession(url, { reconnect: false, httpSession: httpA }).connect();
  await using _a2 = await new RealtimeSession(url, { reconnect: false, httpSession: httpA }).connect();
  const third = new RealtimeSession(url, { reconnect: false, httpSession: httpA });
  const err = await third.connect().then(
    () => assert.fail("a third session from one address was let in"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RealtimeSessionClosedError);
  assert.equal(err.code, "TOO_MANY_SESSIONS");
  assert.equal(err.reason, CloseReason.TOO_MANY_SESSIONS);
  assert.equal(third.closeReason, CloseReason.TOO_MANY_SESSIONS);
  // Another address is not affected, and a slot freed is a slot again.
  await using _b = await new RealtimeSession(url, { reconnect: false, httpSession: httpB }).connect();
  await a1.close();
  await waitFor(() => server.sessions.size === 2, "the closed session to go");
  await using _a3 = await new RealtimeSession(url, { reconnect: false, httpSession: httpA }).connect();
});

test("the per-address cap is left to the application when it authenticates; maxSessions caps every node's total", async () => {
  const { server, url } = await startServer({ maxSessionsPerAddress: 1, maxSessions: 2, authenticator: () => true });
  await using _server = server;
  await using _one = await new RealtimeSession(url, { reconnect: false }).connect();
  await using _two = await new RealtimeSession(url, { reconnect: false }).connect();
  await assert.rejects(new RealtimeSession(url, { reconnect: false }).connect(), { code: "TOO_MANY_SESSIONS" });
  assert.equal(server.sessions.size, 2);
});

test("a full node sends the client on to the next URL", async () => {
  const full = await startServer({ maxSessions: 1 });
  const spare = await startServer();
  await using _full = full.server;
  await using _spare = spare.server;
  await using _first = await new RealtimeSession(full.url, { reconnect: false }).connect();
  await using second = await new RealtimeSession([full.url, spare.url], { reconnect: false }).connect();
  assert.ok(spare.server.getSession(second.sessionId!));
});

test("handshakes in progress are capped per address and in all; a finished handshake frees its slot", async () => {
  const { server, url } = await startServer({ maxPendingPerAddress: 2, maxPendingHandshakes: 3, clientAddress: byHeader, handshakeTimeout: 10_000 });
  await using _server = server;
  const a = [await rawSocket(url, "10.0.0.1"), await rawSocket(url, "10.0.0.1")];
  const refused = await rawSocket(url, "10.0.0.1");
  assert.equal(await refused.closed, closeCodeOf(CloseReason.TOO_MANY_SESSIONS));
  const b = await rawSocket(url, "10.0.0.2"); // third in all
  const overall = await rawSocket(url, "10.0.0.3");
  assert.equal(await overall.closed, closeCodeOf(CloseReason.TOO_MANY_SESSIONS));
  // One of a's handshakes completes: a has room for one more.
  assert.equal(await admitted(a[0]!), true);
  assert.equal(server.sessions.size, 1);
  const again = await rawSocket(url, "10.0.0.1");
  assert.equal(await admitted(again), true);
  // One that leaves during its handshake frees its slot too (once the server has seen it go).
  b.ws.terminate();
  await b.closed;
  let late = await rawSocket(url, "10.0.0.4");
  for (let i = 0; i < 50 && !(await admitted(late)); i++) late = await rawSocket(url, "10.0.0.4");
  assert.equal(server.sessions.size, 3);
  for (const s of [...a, again, late]) s.ws.terminate();
});

test("a disconnected session that never sent a message goes after silentKeepAlive; one that spoke keeps keepAlive", async () => {
  const { server, url } = await startServer({ keepAlive: 30_000, silentKeepAlive: 100 });
  await using _server = server;
  const closed = new Map<string, string>();
  server.on("session-closed", (s, reason) => closed.set(s.id, reason.name));
  const open = async (speak: boolean) => {
    const { ws } = await rawSocket(url);
    const welcome = new Promise<{ sessionId: string }>((r) => ws.once("message", (d) => r(JSON.parse(d.toString()) as { sessionId: string })));
    ws.send(JSON.stringify({ t: "hello", v: 1, principal: "", credentials: "AAA=", properties: {} }));
    const { sessionId } = await welcome;
    if (speak) ws.send(JSON.stringify({ t: "m", s: 1, p: "x", d: 1 }));
    await waitFor(() => server.getSession(sessionId)?.channel.inSeq === (speak ? 1 : 0), "the frame");
    ws.terminate();
    return sessionId;
  };
  const talker = await open(true);
  const silent = await open(false);
  await waitFor(() => closed.has(silent), "the silent session to expire");
  assert.equal(closed.get(silent), "CONNECTION_TIMEOUT");
  assert.equal(server.getSession(talker)?.state, "DISCONNECTED");
  assert.ok(!closed.has(talker));
});

test("addressKey: IPv4 as is (mapped too), IPv6 by its /64", () => {
  assert.equal(addressKey("192.0.2.1"), "192.0.2.1");
  assert.equal(addressKey("::ffff:192.0.2.1"), "192.0.2.1");
  assert.equal(addressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
});

test("options are checked and named", () => {
  for (const k of ["maxValueDepth", "maxSessions", "maxSessionsPerAddress", "maxPendingHandshakes", "maxPendingPerAddress", "silentKeepAlive"]) {
    assert.throws(() => new RealtimeServer({ [k]: 0 }), { code: "INVALID_ARGUMENT", message: new RegExp(k) });
  }
  assert.throws(() => new RealtimeServer({ clientAddress: "x" as never }), { message: /clientAddress/ });
  assert.throws(() => new RealtimeServer({ httpSessions: {} as never }), { message: /httpSessions/ });
  assert.equal(new RealtimeServer({ keepAlive: 500 }).options.silentKeepAlive, 500);
});

test("an upgrade on another path gets a 404 naming the path served; the client's error says what the server answered", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const root = url.replace(/\/realtime$/, "/");
  const err = await new RealtimeSession(root, { reconnect: false }).connect().then(
    () => assert.fail("connected to /"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof UpgradeRefusedError && err instanceof RealtimeSessionClosedError);
  assert.equal(err.code, "CONNECTION_ERROR");
  assert.equal(err.status, 404);
  assert.match(err.body, /at \/realtime/);
  assert.match(err.message, /answered the WebSocket upgrade with 404 Not Found: .*\/realtime/);
  assert.doesNotMatch(err.message, /hang up/);
  // A plain request says the same.
  const res = await fetch(root.replace(/^ws/, "http"));
  assert.equal(res.status, 404);
  assert.match(await res.text(), /at \/realtime/);
  assert.equal((await fetch(url.replace(/^ws/, "http"))).status, 426);
});

test("attached to an application's own http server, the 404 names a custom path; with other upgrade listeners it stays out of the way", async () => {
  const httpServer = http.createServer((_req, res) => res.end("app"));
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  const server = new RealtimeServer({ path: "/live/rt" });
  await server.attach(httpServer);
  try {
    const port = (httpServer.address() as { port: number }).port;
    await assert.rejects(new RealtimeSession(`ws://127.0.0.1:${port}/elsewhere?secret=1`, { reconnect: false }).connect(), (e: unknown) => {
      assert.ok(e instanceof UpgradeRefusedError);
      assert.match(e.message, /at \/live\/rt/);
      assert.doesNotMatch(e.message, /secret/); // the URL is shown without its query
      return true;
    });
    // Another listener: the upgrade is theirs to answer.
    const theirs = new Set<string>();
    httpServer.on("upgrade", (req, socket) => {
      theirs.add(req.url ?? "");
      socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    await assert.rejects(new RealtimeSession(`ws://127.0.0.1:${port}/other`, { reconnect: false }).connect(), { status: 418 });
    assert.deepEqual([...theirs], ["/other"]);
  } finally {
    await server.close();
    httpServer.closeAllConnections();
    await new Promise((r) => httpServer.close(r));
  }
});

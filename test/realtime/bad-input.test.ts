/**
 * Hostile or broken peers: each gets a clean close with the right reason, the server
 * keeps serving, and no 'error' goes unhandled.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { WebSocket } from "ws";
import { CloseReason, closeCodeOf, RealtimeSession, SUBPROTOCOL } from "../../src/realtime/index.js";
import { fastReconnect, startServer, startTrackedServer, waitFor } from "./helpers.js";

async function rawSocket(url: string, protocols: string[] = [SUBPROTOCOL]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  ws.on("error", () => {});
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return ws;
}

function closed(ws: WebSocket): Promise<[number, string]> {
  return new Promise((r) => ws.once("close", (code, reason) => r([code, reason.toString()])));
}

/**
 * Resolves once the server has read everything sent on `ws` so far: ws answers a ping in
 * order with the frames before it, so the pong proves they have all been handled.
 */
function roundTrip(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once("pong", () => resolve());
    ws.ping();
  });
}

/**
 * Proves that the server has finished with everything started before: a new client
 * completes a whole handshake (many turns of the event loop) and must then be the only
 * session there is. Use it where a test means "nothing was created" rather than sleeping.
 */
async function assertOnlyNewSession(server: { sessions: ReadonlyMap<string, unknown> }, url: string): Promise<void> {
  await using probe = await new RealtimeSession(url, { reconnect: false }).connect();
  assert.deepEqual([...server.sessions.keys()], [probe.sessionId]);
}

const hello = JSON.stringify({ t: "hello", v: 1, principal: "p", credentials: "AAA=", properties: {} });

test("garbage and malformed handshakes close with HANDSHAKE_ERROR", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  for (const first of ["not json", "{}", '{"t":"m","s":1,"p":"x","d":1}', JSON.stringify({ t: "hello", v: 1, principal: "p", credentials: "@@@" })]) {
    const ws = await rawSocket(url);
    const done = closed(ws);
    ws.send(first);
    assert.deepEqual(await done, [closeCodeOf(CloseReason.HANDSHAKE_ERROR), "HANDSHAKE_ERROR"], first);
  }
  const ws = await rawSocket(url);
  const done = closed(ws);
  ws.send(Buffer.from([0xff, 0x00, 0x13]));
  assert.equal((await done)[0], closeCodeOf(CloseReason.HANDSHAKE_ERROR));
  assert.equal(server.sessions.size, 0);
});

test("a wrong protocol version is HANDSHAKE_REJECTED", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const ws = await rawSocket(url);
  const done = closed(ws);
  ws.send(JSON.stringify({ t: "hello", v: 99, principal: "p", credentials: "AAA=", properties: {} }));
  assert.deepEqual(await done, [closeCodeOf(CloseReason.HANDSHAKE_REJECTED), "HANDSHAKE_REJECTED"]);
});

test("a handshake that never completes is closed with CONNECTION_TIMEOUT", async () => {
  const { server, url } = await startServer({ handshakeTimeout: 100 });
  await using _server = server;
  const ws = await rawSocket(url);
  assert.deepEqual(await closed(ws), [closeCodeOf(CloseReason.CONNECTION_TIMEOUT), "CONNECTION_TIMEOUT"]);
});

test("a client that waits for a server that never answers fails with CONNECTION_TIMEOUT", async () => {
  // Accepts the upgrade and then says nothing.
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  const port = (wss.address() as net.AddressInfo).port;
  const session = new RealtimeSession(`ws://127.0.0.1:${port}/`, { connectTimeout: 100 });
  await assert.rejects(session.connect(), { code: "CONNECTION_TIMEOUT" });
  assert.equal(session.state, "CLOSED_FAILED");
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(r));
});

test("garbage after the handshake closes the session with INVALID_MESSAGE", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  for (const junk of ["{{{", '{"t":"m","s":1}', '{"t":"hello","v":1,"principal":"","credentials":"AAA="}', Buffer.from([1, 2, 3])]) {
    const ws = await rawSocket(url);
    const welcome = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
    ws.send(hello);
    const { sessionId } = JSON.parse(await welcome) as { sessionId: string };
    const reason = new Promise((r) => server.once("session-closed", (s, why) => r([s.id, why])));
    const done = closed(ws);
    ws.send(junk);
    assert.deepEqual(await done, [closeCodeOf(CloseReason.INVALID_MESSAGE), "INVALID_MESSAGE"]);
    assert.deepEqual(await reason, [sessionId, CloseReason.INVALID_MESSAGE]);
  }
});

test("a sequence gap from the client closes with LOST_MESSAGES", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const ws = await rawSocket(url);
  const welcome = new Promise((r) => ws.once("message", r));
  ws.send(hello);
  await welcome;
  const done = closed(ws);
  ws.send('{"s":1,"t":"m","p":"x","d":1}');
  ws.send('{"s":3,"t":"m","p":"x","d":3}');
  assert.deepEqual(await done, [closeCodeOf(CloseReason.LOST_MESSAGES), "LOST_MESSAGES"]);
});

test("an oversized frame is refused (1009) and the session ends with MESSAGE_TOO_LARGE", async () => {
  const { server, url } = await startServer({ maxMessageSize: 1024 });
  await using _server = server;
  const ws = await rawSocket(url);
  const welcome = new Promise((r) => ws.once("message", r));
  ws.send(hello);
  await welcome;
  const reason = new Promise((r) => server.once("session-closed", (_s, why) => r(why)));
  const done = closed(ws);
  ws.send("x".repeat(4096));
  assert.equal((await done)[0], 1009);
  assert.equal(await reason, CloseReason.MESSAGE_TOO_LARGE);
  // The server still serves.
  await using ok = await new RealtimeSession(url).connect();
  assert.equal(ok.state, "CONNECTED_ACTIVE");
});

test("resuming with a wrong token is ACCESS_DENIED and does not harm the real session", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const echo: unknown[] = [];
  server.addHandler("x", (v) => {
    echo.push(v);
  });
  await using session = await new RealtimeSession(url, { reconnect: fastReconnect }).connect();
  const ws = await rawSocket(url);
  const done = closed(ws);
  ws.send(JSON.stringify({ t: "resume", v: 1, sessionId: session.sessionId, token: "guess", ack: 0 }));
  assert.deepEqual(await done, [closeCodeOf(CloseReason.ACCESS_DENIED), "ACCESS_DENIED"]);
  session.send("x", 1);
  await waitFor(() => echo.length === 1, "the real session still works");
  assert.equal(session.state, "CONNECTED_ACTIVE");
});

test("resuming an unknown session is LOST_MESSAGES; a bad id is HANDSHAKE_ERROR", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  let ws = await rawSocket(url);
  let done = closed(ws);
  ws.send(JSON.stringify({ t: "resume", v: 1, sessionId: "0123456789abcdef-0123456789abcdef", token: "t", ack: 0 }));
  assert.deepEqual(await done, [closeCodeOf(CloseReason.LOST_MESSAGES), "LOST_MESSAGES"]);
  ws = await rawSocket(url);
  done = closed(ws);
  ws.send(JSON.stringify({ t: "resume", v: 1, sessionId: "../../etc", token: "t", ack: 0 }));
  assert.deepEqual(await done, [closeCodeOf(CloseReason.HANDSHAKE_ERROR), "HANDSHAKE_ERROR"]);
});

test("an acknowledgement from the future is LOST_MESSAGES", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const ws = await rawSocket(url);
  const welcome = new Promise((r) => ws.once("message", r));
  ws.send(hello);
  await welcome;
  const done = closed(ws);
  ws.send('{"t":"a","a":1000}');
  assert.deepEqual(await done, [closeCodeOf(CloseReason.LOST_MESSAGES), "LOST_MESSAGES"]);
});

test("upgrades to other paths and plain HTTP requests are not taken", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const other = new WebSocket(url.replace("/realtime", "/elsewhere"));
  const outcome = await new Promise((r) => {
    other.once("error", () => r("refused"));
    other.once("open", () => r("open"));
  });
  assert.equal(outcome, "refused");
  const res = await fetch(url.replace("ws:", "http:"));
  assert.equal(res.status, 426);
});

test("an upgrade that does not offer the sessionkit.realtime.v1 subprotocol is refused with HTTP 400", async () => {
  await using tracked = await startTrackedServer();
  const { server, url } = tracked;
  const opened: unknown[] = [];
  server.on("session-opened", (s) => opened.push(s));
  for (const protocols of [[], ["chat"], ["chat", "sessionkit.realtime.v2"]]) {
    const ws = new WebSocket(url, protocols);
    const outcome = await new Promise<string>((r) => {
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res
          .setEncoding("utf8")
          .on("data", (d: string) => (body += d))
          .on("end", () => r(`${res.statusCode} ${body}`));
      });
      ws.once("open", () => r("open"));
      ws.once("error", (err) => r(`error ${err.message}`));
    });
    assert.equal(outcome, `400 The WebSocket subprotocol ${SUBPROTOCOL} is required`, JSON.stringify(protocols));
  }
  // Nothing was kept: the connections are gone on the server side too.
  await waitFor(() => tracked.openConnections() === 0, "the refused connections to close");
  // Offering ours among others (or twice, in separate headers) is fine.
  const ws = await rawSocket(url, ["chat", SUBPROTOCOL]);
  assert.equal(ws.protocol, SUBPROTOCOL);
  ws.terminate();
  const u = new URL(url);
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        headers: [
          "Connection",
          "Upgrade",
          "Upgrade",
          "websocket",
          "Sec-WebSocket-Version",
          "13",
          "Sec-WebSocket-Key",
          "dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Protocol",
          "chat",
          "Sec-WebSocket-Protocol",
          SUBPROTOCOL,
        ],
      })
      .on("upgrade", (r, socket) => {
        socket.destroy();
        resolve(r);
      })
      .on("response", resolve)
      .on("error", reject)
      .end();
  });
  assert.equal(res.statusCode, 101);
  assert.equal(res.headers["sec-websocket-protocol"], SUBPROTOCOL);
  assert.equal(opened.length, 0);
});

test("a client that hangs up in the middle of the handshake leaves nothing behind", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let asked = 0;
  await using tracked = await startTrackedServer({
    authenticator: async () => {
      asked++;
      await gate;
      return true;
    },
  });
  const { server, url } = tracked;
  const ws = await rawSocket(url);
  ws.send(hello);
  await waitFor(() => asked === 1, "the hello to be under check");
  ws.terminate();
  // The server must have seen the hang-up before the verdict comes: a socket that is
  // still open when the welcome goes out is a session kept for its keep-alive window.
  await waitFor(() => tracked.openConnections() === 0, "the server to see the hang-up");
  release();
  await assertOnlyNewSession(server, url);
});

test("an authenticator that never answers is cut off by handshakeTimeout with CONNECTION_TIMEOUT", async () => {
  let release: (ok: boolean) => void = () => {};
  const gate = new Promise<boolean>((r) => (release = r));
  const { server, url } = await startServer({ handshakeTimeout: 150, authenticator: () => gate });
  await using _server = server;
  const ws = await rawSocket(url);
  const started = Date.now();
  const done = closed(ws);
  ws.send(hello);
  assert.deepEqual(await done, [closeCodeOf(CloseReason.CONNECTION_TIMEOUT), "CONNECTION_TIMEOUT"]);
  assert.ok(Date.now() - started < 1500, "closed in about handshakeTimeout");
  release(true); // the late verdict creates nothing
  await assertOnlyNewSession(server, url);
});

test("an oversized first frame is refused (1009); a client whose hello is too large fails at once with MESSAGE_TOO_LARGE", async () => {
  const { server, url } = await startServer({ maxMessageSize: 1024 });
  await using _server = server;
  let stateChanges = 0;
  const ws = await rawSocket(url);
  const done = closed(ws);
  ws.send("x".repeat(4096));
  assert.equal((await done)[0], 1009);
  assert.equal(server.sessions.size, 0);
  // Without the mapping the client would take 1009 for a network failure and try every
  // URL (and, recovering, retry until its timeout).
  const session = new RealtimeSession([url, url], { properties: { big: "y".repeat(2000) } });
  session.on("state", () => stateChanges++);
  await assert.rejects(session.connect(), { code: "MESSAGE_TOO_LARGE" });
  assert.equal(session.state, "CLOSED_FAILED");
  assert.equal(session.closeReason, CloseReason.MESSAGE_TOO_LARGE);
  assert.equal(stateChanges, 1); // CONNECTING → CLOSED_FAILED, nothing in between
  assert.equal(server.sessions.size, 0);
});

test("frames flooding in during the handshake end it with MESSAGE_QUEUE_LIMIT_REACHED", async () => {
  let release: (ok: boolean) => void = () => {};
  const gate = new Promise<boolean>((r) => (release = r));
  const { server, url } = await startServer({ maxMessageSize: 1024, authenticator: () => gate });
  await using _server = server;
  const ws = await rawSocket(url);
  const done = closed(ws);
  ws.send(hello);
  for (let i = 0; i < 4; i++) ws.send(JSON.stringify({ s: i + 1, t: "m", p: "x", d: "z".repeat(400) }));
  assert.deepEqual(await done, [closeCodeOf(CloseReason.MESSAGE_QUEUE_LIMIT_REACHED), "MESSAGE_QUEUE_LIMIT_REACHED"]);
  release(true);
  await assertOnlyNewSession(server, url);
});

test("a few frames sent right behind the hello are held and handled after the welcome", async () => {
  let release: (ok: boolean) => void = () => {};
  const gate = new Promise<boolean>((r) => (release = r));
  const { server, url } = await startServer({ authenticator: () => gate });
  await using _server = server;
  const got: unknown[] = [];
  server.addHandler("x", (v) => {
    got.push(v);
  });
  const ws = await rawSocket(url);
  ws.send(hello);
  ws.send('{"s":1,"t":"m","p":"x","d":1}');
  ws.send('{"s":2,"t":"m","p":"x","d":2}');
  await roundTrip(ws); // both frames have reached the server while the hello is being checked
  assert.deepEqual(got, []);
  release(true);
  await waitFor(() => got.length === 2, "both early frames");
  assert.deepEqual(got, [1, 2]);
  ws.terminate();
});

test("an authenticator cannot set fixed properties (the session is refused, the error reported)", async () => {
  const { server, url } = await startServer({ authenticator: () => ({ properties: { $Principal: "root" } }) });
  await using _server = server;
  const errors: Error[] = [];
  server.on("handler-error", (e) => errors.push(e));
  await assert.rejects(new RealtimeSession(url, { reconnect: false }).connect(), { code: "INTERNAL_ERROR" });
  assert.match(errors[0]?.message ?? "", /fixed/);
  assert.equal(server.sessions.size, 0);
});

test("fixed properties in a hello cannot be smuggled in any spelling the server would honour", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  for (const properties of [
    { $SessionId: "x" },
    { $Transport: "HTTP" },
    { $StartTime: "0" },
    { $ClientIP: "1.2.3.4" },
    { $anything: "x" },
    { "": "x" },
    { "a\u0000b": "x" },
    { "tab\tkey": "x" },
    { "nb\u00a0sp": "x" },
    { ok: 1 },
    ["a"],
  ]) {
    const ws = await rawSocket(url);
    const done = closed(ws);
    ws.send(JSON.stringify({ t: "hello", v: 1, principal: "p", credentials: "AAA=", properties }));
    assert.deepEqual(await done, [closeCodeOf(CloseReason.HANDSHAKE_REJECTED), "HANDSHAKE_REJECTED"], JSON.stringify(properties));
  }
  // What the server sets wins over anything else; the client sees exactly those.
  await using ok = await new RealtimeSession(url, { principal: "eve", properties: { Dept: "x" } }).connect();
  const s = server.getSession(ok.sessionId!)!;
  assert.deepEqual(Object.keys(s.properties).sort(), ["$ClientIP", "$Principal", "$SessionId", "$StartTime", "$Transport", "Dept"]);
  assert.equal(s.properties.$SessionId, ok.sessionId);
  assert.equal(s.properties.$Principal, "eve");
  assert.ok(Object.isFrozen(s.properties) && Object.isFrozen(ok.properties));
  assert.deepEqual(ok.properties, s.properties);
});

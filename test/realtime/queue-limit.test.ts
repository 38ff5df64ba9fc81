/**
 * Slow consumers: a client that does not read what the server sends must not make the
 * server buffer without limit. Past `maxQueuedBytes` unsent bytes on its socket, the
 * session ends with MESSAGE_QUEUE_LIMIT_REACHED (Diffusion's reason for the same thing).
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { test } from "node:test";
import { WebSocket } from "ws";
import {
  CloseReason,
  closeCodeOf,
  RealtimeServer,
  RealtimeSession,
  SUBPROTOCOL,
  type ServerSession,
  type SessionState,
} from "../../src/realtime/index.js";
import { fastReconnect, startRelay, startServer, waitFor } from "./helpers.js";

const LIMIT = 64 * 1024;
const chunk = "x".repeat(64 * 1024);

/**
 * Pushes to a session until the server ends it, yielding to the event loop between pushes
 * (as a server doing anything else would), so the socket hands to the kernel whatever it
 * will take. Returns how many pushes it took.
 */
async function floodUntilClosed(session: ServerSession, push: () => unknown): Promise<number> {
  // Far more than loopback TCP buffers can hold (a few MiB each way), so the limit must
  // have tripped by then; bounded so a failure does not eat the machine's memory.
  const most = 1024; // 64 MiB
  const deadline = Date.now() + 20_000;
  let n = 0;
  while (session.state !== "CLOSED") {
    if (n >= most || Date.now() > deadline) throw new Error(`still open after ${n} pushes of ${chunk.length} bytes`);
    await push();
    n++;
    await new Promise((r) => setImmediate(r));
  }
  return n;
}

test("maxQueuedBytes defaults to 4 MiB and must be a positive number (Infinity turns it off)", () => {
  assert.equal(new RealtimeServer().options.maxQueuedBytes, 4 * 1024 * 1024);
  assert.equal(new RealtimeServer({ maxQueuedBytes: Infinity }).options.maxQueuedBytes, Infinity);
  for (const bad of [0, -1, Number.NaN, "1" as never]) {
    assert.throws(() => new RealtimeServer({ maxQueuedBytes: bad }), /options\.maxQueuedBytes/);
  }
});

test("a client whose socket stops reading is closed with MESSAGE_QUEUE_LIMIT_REACHED, the close frame behind the backlog", async () => {
  // A long ping period: the server must end this session for its backlog, not for silence.
  const { server, url } = await startServer({ maxQueuedBytes: LIMIT, pingPeriod: 60_000 });
  await using _server = server;
  const ws = new WebSocket(url, [SUBPROTOCOL]);
  ws.on("error", () => {});
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  const welcome = new Promise<string>((r) => ws.once("message", (d) => r(d.toString())));
  ws.send(JSON.stringify({ t: "hello", v: 1, principal: "slow", credentials: "AAA=", properties: {} }));
  const { sessionId } = JSON.parse(await welcome) as { sessionId: string };
  const session = server.getSession(sessionId)!;
  const why = new Promise((r) => server.once("session-closed", (s, reason) => r([s.id, reason])));

  // The client's own TCP socket stops reading: the kernel buffers on both ends fill up,
  // then what the server writes stays in its socket's buffer.
  const socket = (ws as unknown as { _socket: net.Socket })._socket;
  socket.pause();
  let peak = 0;
  const pushes = await floodUntilClosed(session, () => {
    peak = Math.max(peak, session.socket?.bufferedAmount ?? 0);
    return server.sendToSession(sessionId, "flood", chunk);
  });
  assert.deepEqual(await why, [sessionId, CloseReason.MESSAGE_QUEUE_LIMIT_REACHED]);
  assert.ok(pushes > 1, "not on the first push");
  // Checked before each write: at most one frame over the limit was ever buffered.
  assert.ok(peak <= LIMIT + chunk.length + 64, `peak ${peak} bytes held for the client`);
  assert.equal(server.getSession(sessionId), undefined);
  await assert.rejects(server.sendToSession(sessionId, "flood", 1), { code: "SESSION_NOT_FOUND" });

  // Once the client reads again it gets the backlog and then the reason.
  const done = new Promise<[number, string]>((r) => ws.once("close", (code, reason) => r([code, reason.toString()])));
  socket.resume();
  assert.deepEqual(await done, [closeCodeOf(CloseReason.MESSAGE_QUEUE_LIMIT_REACHED), "MESSAGE_QUEUE_LIMIT_REACHED"]);
});

test("a RealtimeSession that falls behind ends CLOSED_BY_SERVER with MESSAGE_QUEUE_LIMIT_REACHED, without a recovery", async () => {
  const { server, url } = await startServer({ maxQueuedBytes: LIMIT, pingPeriod: 60_000 });
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  try {
    const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), { reconnect: fastReconnect }).connect();
    let received = 0;
    session.addHandler("flood", () => {
      received++;
    });
    const states: SessionState[] = [];
    session.on("state", (s) => states.push(s));
    const closed = new Promise((r) => session.once("closed", r));
    const onServer = server.getSession(session.sessionId!)!;

    relay.pause(); // the client stops taking what the server sends
    const pushes = await floodUntilClosed(onServer, () => onServer.send("flood", chunk));
    relay.resume();
    assert.equal(await closed, CloseReason.MESSAGE_QUEUE_LIMIT_REACHED);
    assert.equal(session.state, "CLOSED_BY_SERVER");
    assert.equal(session.closeReason, CloseReason.MESSAGE_QUEUE_LIMIT_REACHED);
    assert.deepEqual(states, ["CLOSED_BY_SERVER"]);
    assert.ok(received < pushes, `the client got ${received} of ${pushes} pushes, the rest were never sent`);
    assert.throws(() => session.send("x", 1), { code: "MESSAGE_QUEUE_LIMIT_REACHED" });
  } finally {
    await relay.close();
  }
});

test("a client cut off before its close frame gets through learns MESSAGE_QUEUE_LIMIT_REACHED when it resumes", async () => {
  const { server, url } = await startServer({ maxQueuedBytes: LIMIT, pingPeriod: 60_000 });
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  try {
    const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), { reconnect: fastReconnect }).connect();
    const states: SessionState[] = [];
    session.on("state", (s) => states.push(s));
    const closed = new Promise((r) => session.once("closed", r));
    const onServer = server.getSession(session.sessionId!)!;
    relay.pause();
    await floodUntilClosed(onServer, () => onServer.send("flood", chunk));
    relay.cut(); // the backlog, close frame included, is lost with the connection
    relay.resume();
    assert.equal(await closed, CloseReason.MESSAGE_QUEUE_LIMIT_REACHED);
    assert.deepEqual(states, ["RECOVERING_RECONNECT", "CLOSED_BY_SERVER"]);
  } finally {
    await relay.close();
  }
});

test("a client that keeps reading is never closed however much the server sends", async () => {
  const { server, url } = await startServer({ maxQueuedBytes: LIMIT, pingPeriod: 60_000 });
  await using _server = server;
  await using session = await new RealtimeSession(url).connect();
  let received = 0;
  session.addHandler("flood", () => {
    received++;
  });
  const onServer = server.getSession(session.sessionId!)!;
  const N = 200; // 12.5 MiB in all, far over the limit, but never more than it at a time
  for (let i = 0; i < N; i++) {
    await waitFor(() => (onServer.socket?.bufferedAmount ?? 0) < LIMIT / 2, "the socket to drain");
    onServer.send("flood", chunk);
  }
  await waitFor(() => received === N, `all ${N} pushes (have ${received})`, 20_000);
  assert.equal(onServer.state, "CONNECTED");
  assert.equal(session.state, "CONNECTED_ACTIVE");
});

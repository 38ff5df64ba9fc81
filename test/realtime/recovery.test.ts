import assert from "node:assert/strict";
import { test } from "node:test";
import { CloseReason, RealtimeSession, type SessionState } from "../../src/realtime/index.js";
import { WebSocket, WebSocketServer } from "ws";
import { fastReconnect, startRelay, startServer, waitFor } from "./helpers.js";

test("a socket killed mid-stream loses nothing and duplicates nothing, both ways", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const atServer: number[] = [];
  server.addHandler("up", (v, s) => {
    atServer.push(v as number);
    s.send("down", v); // echo: a duplicate or a gap either way would show at the client
  });
  const session = await new RealtimeSession(url, { reconnect: fastReconnect }).connect();
  const id = session.sessionId;
  const atClient: number[] = [];
  session.addHandler("down", (v) => {
    atClient.push(v as number);
  });
  const states: SessionState[] = [];
  session.on("state", (s) => states.push(s));
  let recovered = 0;
  session.on("recovered", () => recovered++);

  const N = 3000;
  let kills = 0;
  for (let i = 0; i < N; i++) {
    session.send("up", i);
    if (i % 500 === 250) {
      await waitFor(() => recovered === kills && server.getSession(id!)?.state === "CONNECTED", "the previous recovery");
      server.getSession(id!)!.socket!.terminate(); // the network drops, messages in flight
      kills++;
    }
  }
  await waitFor(() => atClient.length === N, `all ${N} echoes (have ${atClient.length})`, 10_000);
  assert.deepEqual(
    atServer,
    Array.from({ length: N }, (_, i) => i),
  );
  assert.deepEqual(atClient, atServer);
  assert.equal(session.sessionId, id);
  assert.equal(kills, 6);
  assert.equal(recovered, kills);
  assert.ok(states.includes("RECOVERING_RECONNECT"));
  assert.equal(session.state, "CONNECTED_ACTIVE");
  await session.close();
});

test("messages sent while recovering are delivered after recovery", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  const got: string[] = [];
  server.addHandler("m", (v) => {
    got.push(v as string);
  });
  const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), {
    reconnect: { timeout: 5000, strategy: () => 50 },
  }).connect();
  relay.cut();
  await waitFor(() => session.state === "RECOVERING_RECONNECT", "recovering");
  session.send("m", "while away");
  const pushed = server.sendToSession(session.sessionId!, "p", "queued on the server");
  const atClient: unknown[] = [];
  session.addHandler("p", (v) => {
    atClient.push(v);
  });
  await pushed;
  await waitFor(() => session.state === "CONNECTED_ACTIVE", "recovered");
  await waitFor(() => got.length === 1 && atClient.length === 1, "both directions");
  assert.deepEqual(got, ["while away"]);
  assert.deepEqual(atClient, ["queued on the server"]);
  await session.close();
  await relay.close();
});

test("requests in flight during a drop are answered after recovery", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let handling = 0;
  server.addHandler("wait", async (v) => {
    handling++;
    await gate;
    return `done ${v}`;
  });
  const session = await new RealtimeSession(url, { reconnect: fastReconnect }).connect();
  const answer = session.request("wait", 1);
  await waitFor(() => handling === 1, "the server to be handling the request"); // in flight, not just queued
  server.getSession(session.sessionId!)!.socket!.terminate();
  await waitFor(() => session.state === "RECOVERING_RECONNECT", "recovering");
  release();
  assert.equal(await answer, "done 1");
  await session.close();
});

test("a dead but open connection is noticed by heartbeats and recovered", async () => {
  const { server, url } = await startServer({ pingPeriod: 50 });
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), { reconnect: fastReconnect }).connect();
  const disconnected = new Promise((r) => session.once("disconnected", () => r(undefined)));
  relay.freeze(); // bytes vanish, nothing is closed
  await disconnected;
  relay.thaw();
  await waitFor(() => session.state === "CONNECTED_ACTIVE", "recovered");
  assert.equal(server.sessions.size, 1);
  await session.close();
  await relay.close();
});

test("a session the server no longer has fails with LOST_MESSAGES, never silently", async () => {
  const { server, url } = await startServer({ keepAlive: 30 });
  const port = Number(new URL(url).port);
  const relay = await startRelay(port);
  const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), {
    reconnect: { timeout: 5000, strategy: () => 100 },
  }).connect();
  const closedOnServer = new Promise((r) => server.once("session-closed", (_s, reason) => r(reason)));
  relay.cut();
  assert.equal(await closedOnServer, CloseReason.CONNECTION_TIMEOUT); // keep-alive window over
  await waitFor(() => session.isClosed, "client gives up");
  assert.equal(session.state, "CLOSED_FAILED");
  assert.equal(session.closeReason, CloseReason.LOST_MESSAGES);
  await relay.close();
  await server.close();
});

test("overflowing the server's replay buffer while the client is away closes with LOST_MESSAGES", async () => {
  const { server, url } = await startServer({ replayBufferSize: 10 });
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), {
    reconnect: { timeout: 5000, strategy: () => 100 },
  }).connect();
  const id = session.sessionId!;
  relay.cut();
  await waitFor(() => server.getSession(id)?.state === "DISCONNECTED", "server sees the drop");
  const reason = new Promise((r) => server.once("session-closed", (_s, why) => r(why)));
  for (let i = 0; i < 11; i++) server.getSession(id)?.send("x", i);
  assert.equal(await reason, CloseReason.LOST_MESSAGES);
  await waitFor(() => session.isClosed, "client closed");
  assert.equal(session.closeReason, CloseReason.LOST_MESSAGES);
  await relay.close();
});

test("overflowing the client's replay buffer while away closes with LOST_MESSAGES", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), {
    replayBufferSize: 5,
    reconnect: { timeout: 5000, strategy: () => 200 },
  }).connect();
  relay.cut();
  await waitFor(() => session.state === "RECOVERING_RECONNECT", "recovering");
  for (let i = 0; i < 6; i++) if (!session.isClosed) session.send("x", i);
  assert.equal(session.state, "CLOSED_FAILED");
  assert.equal(session.closeReason, CloseReason.LOST_MESSAGES);
  await relay.close();
});

test("reconnect gives up after its timeout with CONNECTION_TIMEOUT; reconnect:false fails at once", async () => {
  const { server, url } = await startServer();
  const relay = await startRelay(Number(new URL(url).port));
  const via = url.replace(/:\d+/, `:${relay.port}`);
  const session = await new RealtimeSession(via, { reconnect: { timeout: 200, strategy: () => 20 } }).connect();
  const noRetry = await new RealtimeSession(via, { reconnect: false }).connect();
  await relay.close(); // gone for good: every attempt is refused
  await waitFor(() => session.isClosed && noRetry.isClosed, "both closed");
  assert.equal(session.closeReason, CloseReason.CONNECTION_TIMEOUT);
  assert.equal(noRetry.closeReason, CloseReason.TRANSPORT_ERROR);
  assert.equal(noRetry.state, "CLOSED_FAILED");
  await server.close();
});

test("the client moves to the next URL of a cluster list when its server is unreachable", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const a = await startRelay(Number(new URL(url).port));
  const b = await startRelay(Number(new URL(url).port));
  const session = await new RealtimeSession([url.replace(/:\d+/, `:${a.port}`), url.replace(/:\d+/, `:${b.port}`)], {
    reconnect: fastReconnect,
  }).connect();
  await a.close();
  await waitFor(() => session.state === "RECOVERING_RECONNECT", "recovering");
  await waitFor(() => session.state === "CONNECTED_ACTIVE", "recovered through b");
  assert.equal(await session.pingServer().then(() => "ok"), "ok");
  await session.close();
  await b.close();
});

test("a session closed by the server while its client is away ends as CLOSED_BY_SERVER on return", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const relay = await startRelay(Number(new URL(url).port));
  const session = await new RealtimeSession(url.replace(/:\d+/, `:${relay.port}`), {
    reconnect: { timeout: 5000, strategy: () => 100 },
  }).connect();
  const id = session.sessionId!;
  relay.cut();
  await waitFor(() => server.getSession(id)?.state === "DISCONNECTED", "server sees the drop");
  assert.equal(await server.closeSession(id), true);
  await waitFor(() => session.isClosed, "client learns on return");
  assert.equal(session.state, "CLOSED_BY_SERVER");
  assert.equal(session.closeReason, CloseReason.CLOSED_BY_CONTROLLER);
  await relay.close();
});

test("the client notices a silent server within two ping periods", async () => {
  // A fake server that welcomes the client and then says nothing at all, not even pongs.
  const ping = 200;
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", autoPong: false, handleProtocols: (p) => [...p][0] ?? false });
  await new Promise((r) => wss.once("listening", r));
  let lastWord = 0;
  wss.on("connection", (ws) => {
    ws.once("message", () => {
      ws.send(
        JSON.stringify({
          t: "welcome",
          sessionId: "0123456789abcdef-0123456789abcdef",
          token: "t",
          properties: {},
          ack: 0,
          ping,
          keepAlive: 5000,
          maxMessageSize: 1 << 20,
        }),
      );
      lastWord = performance.now();
    });
  });
  const port = (wss.address() as { port: number }).port;
  const session = await new RealtimeSession(`ws://127.0.0.1:${port}/`, { reconnect: false }).connect();
  const noticed = (await new Promise<number>((r) => session.once("disconnected", () => r(performance.now())))) - lastWord;
  assert.ok(noticed <= 2 * ping + 50, `noticed after ${noticed.toFixed(0)} ms (ping period ${ping})`);
  assert.ok(noticed >= ping, `not before a full period of silence (${noticed.toFixed(0)} ms)`);
  await waitFor(() => session.isClosed, "closed");
  assert.equal(session.closeReason, CloseReason.TRANSPORT_ERROR);
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(r));
});

test("the server drops a silent client within two ping periods and keeps its session for a resume", async () => {
  const ping = 200;
  const { server, url } = await startServer({ pingPeriod: ping });
  await using _server = server;
  const ws = new WebSocket(url, ["sessionkit.realtime.v1"]);
  ws.on("error", () => {});
  await new Promise((r) => ws.once("open", r));
  const welcome = new Promise<{ sessionId: string; token: string }>((r) => ws.once("message", (d) => r(JSON.parse(d.toString()))));
  ws.send(JSON.stringify({ t: "hello", v: 1, principal: "quiet", credentials: "AAA=", properties: {} }));
  const { sessionId, token } = await welcome;
  const lastWord = performance.now();
  const noticed = (await new Promise<number>((r) => server.once("session-disconnected", () => r(performance.now())))) - lastWord;
  assert.ok(noticed <= 2 * ping + 50, `noticed after ${noticed.toFixed(0)} ms (ping period ${ping})`);
  assert.ok(noticed >= ping, `not before a full period of silence (${noticed.toFixed(0)} ms)`);
  assert.equal(server.getSession(sessionId)?.state, "DISCONNECTED");
  // The client can still resume it.
  const again = new WebSocket(url, ["sessionkit.realtime.v1"]);
  again.on("error", () => {});
  await new Promise((r) => again.once("open", r));
  const answer = new Promise<{ t: string }>((r) => again.once("message", (d) => r(JSON.parse(d.toString()))));
  again.send(JSON.stringify({ t: "resume", v: 1, sessionId, token, ack: 0 }));
  assert.equal((await answer).t, "resumed");
  assert.equal(server.getSession(sessionId)?.state, "CONNECTED");
  again.terminate();
});

test("'recovered' while the server keeps the session; CLOSED_FAILED with LOST_MESSAGES once it lost it", async () => {
  const a = await startServer();
  const b = await startServer();
  const relay = await startRelay(Number(new URL(a.url).port));
  const session = await new RealtimeSession([a.url.replace(/:\d+/, `:${relay.port}`), b.url], {
    reconnect: { timeout: 5000, strategy: () => 30 },
  }).connect();
  const events: string[] = [];
  session.on("recovered", () => events.push("recovered"));
  session.on("closed", (r) => events.push(`closed ${r.name}`));
  relay.cut(); // a still has the session: it comes back through the relay
  await waitFor(() => events.length === 1, "recovered");
  assert.equal(session.state, "CONNECTED_ACTIVE");
  // Now a goes away with the session (the client cannot hear it go); b never had it.
  await relay.close();
  await a.server.close();
  await waitFor(() => session.isClosed, "client gives up");
  assert.deepEqual(events, ["recovered", "closed LOST_MESSAGES"]);
  assert.equal(session.state, "CLOSED_FAILED");
  assert.equal(session.closeReason, CloseReason.LOST_MESSAGES);
  await b.server.close();
});

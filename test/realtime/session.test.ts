import assert from "node:assert/strict";
import { inspect } from "node:util";
import { test } from "node:test";
import { Session } from "../../src/http/session.js";
import { CloseReason, Credentials, RealtimeSession, type ServerSession, type SessionState } from "../../src/realtime/index.js";
import { startServer, waitFor } from "./helpers.js";

test("connect, properties, send, request, push, ping and close", async () => {
  const { server, url } = await startServer({
    authenticator: (principal, credentials, properties) =>
      principal === "alice" && credentials.type === "PLAIN_PASSWORD" && credentials.text() === "secret"
        ? { properties: { role: "admin", seenColour: properties.colour ?? "" } }
        : false,
  });
  await using _server = server;
  const opened: ServerSession[] = [];
  const closed: Array<[string, string]> = [];
  server.on("session-opened", (s) => opened.push(s));
  server.on("session-closed", (s, r) => closed.push([s.id, r.name]));
  const received: unknown[] = [];
  server.addHandler("note", (value, session) => {
    received.push(value);
    session.send("ack", { got: value as number });
  });
  server.addHandler("double", (value) => (value as number) * 2);
  server.addHandler("slow", async (value) => {
    await new Promise((r) => setTimeout(r, 20));
    return { echoed: value };
  });

  const session = new RealtimeSession(url, { principal: "alice", credentials: new Credentials("secret"), properties: { colour: "red" } });
  const states: SessionState[] = [];
  session.on("state", (s) => states.push(s));
  assert.equal(session.state, "CONNECTING");
  await session.connect({ size: "L" });
  assert.equal(session.state, "CONNECTED_ACTIVE");
  assert.match(session.sessionId!, /^[0-9a-f]{16}-[0-9a-f]{16}$/);
  assert.equal(session.properties.$SessionId, session.sessionId);
  assert.equal(session.properties.$Principal, "alice");
  assert.equal(session.properties.$ClientIP, "127.0.0.1");
  assert.equal(session.properties.$Transport, "WEBSOCKET");
  assert.ok(Number(session.properties.$StartTime) > 0);
  assert.equal(session.properties.colour, "red");
  assert.equal(session.properties.size, "L");
  assert.equal(session.properties.role, "admin");
  assert.equal(session.properties.seenColour, "red");
  assert.equal(opened.length, 1);
  assert.equal(opened[0]!.id, session.sessionId);

  session.data.set("mine", 42);
  assert.equal(session.data.get("mine"), 42);

  const acks: unknown[] = [];
  session.addHandler("ack", (v) => {
    acks.push(v);
  });
  for (let i = 0; i < 20; i++) session.send("note", i);
  assert.equal(await session.request("double", 21), 42);
  assert.deepEqual(await session.request("slow", [1, 2]), { echoed: [1, 2] });
  const bytes = await session.request("slow", new Uint8Array([9, 8, 7]));
  assert.deepEqual((bytes as { echoed: unknown }).echoed, { 0: 9, 1: 8, 2: 7 }); // bytes inside JSON become an object
  await waitFor(() => acks.length === 20, "20 acks");
  assert.deepEqual(
    received,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.deepEqual(acks[19], { got: 19 });

  const ping = await session.pingServer();
  assert.ok(ping.rtt >= 0 && ping.timestamp <= Date.now());

  await session.close();
  assert.equal(session.state, "CLOSED_BY_CLIENT");
  assert.equal(session.closeReason, CloseReason.CLOSED_BY_CLIENT);
  assert.deepEqual(states, ["CONNECTED_ACTIVE", "CLOSED_BY_CLIENT"]);
  await waitFor(() => closed.length === 1, "session-closed");
  assert.deepEqual(closed[0], [session.sessionId, "CLOSED_BY_CLIENT"]);
  assert.throws(() => session.send("note", 1), { code: "CLOSED_BY_CLIENT" });
  await assert.rejects(session.request("double", 1), { code: "CLOSED_BY_CLIENT" });
});

test("binary values round-trip as bytes both ways", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  server.addHandler("bin", (v) => {
    assert.ok(v instanceof Uint8Array);
    return new Uint8Array([...v].reverse());
  });
  await using session = await new RealtimeSession(url).connect();
  const answer = await session.request("bin", new Uint8Array([1, 2, 3, 0, 255]));
  assert.ok(answer instanceof Uint8Array);
  assert.deepEqual([...answer], [255, 0, 3, 2, 1]);
});

test("request errors: no handler, a throwing handler, a timeout", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  server.addHandler("boom", () => {
    throw new Error("kaput");
  });
  server.addHandler("never", () => new Promise(() => {}));
  await using session = await new RealtimeSession(url).connect();
  await assert.rejects(session.request("missing", 1), { code: "NO_HANDLER" });
  await assert.rejects(session.request("boom", 1), { code: "HANDLER_FAILED", message: "kaput" });
  await assert.rejects(session.request("never", 1, { timeout: 50 }), { code: "REQUEST_TIMEOUT" });
});

test("bad credentials are refused with ACCESS_DENIED", async () => {
  const { server, url } = await startServer({ authenticator: (_p, c) => c.text() === "right" });
  await using _server = server;
  const session = new RealtimeSession(url, { principal: "bob", credentials: "wrong" });
  await assert.rejects(session.connect(), (err: Error & { code?: string }) => {
    assert.equal(err.code, "ACCESS_DENIED");
    assert.ok(!err.message.includes("wrong"));
    return true;
  });
  assert.equal(session.state, "CLOSED_FAILED");
  assert.equal(session.closeReason, CloseReason.ACCESS_DENIED);
  assert.equal(server.sessions.size, 0);
});

test("an authenticator that throws refuses and is reported", async () => {
  const { server, url } = await startServer({
    authenticator: () => {
      throw new Error("db down");
    },
  });
  await using _server = server;
  const errors: Error[] = [];
  server.on("handler-error", (e) => errors.push(e));
  await assert.rejects(new RealtimeSession(url).connect(), { code: "ACCESS_DENIED" });
  assert.equal(errors[0]?.message, "db down");
});

test("forged $ properties and bad keys are rejected on both ends", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  assert.throws(() => new RealtimeSession(url, { properties: { $Principal: "root" } }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new RealtimeSession(url, { properties: { "has space": "x" } }), { code: "INVALID_ARGUMENT" });
  for (const key of ["a(b", 'quo"te', "it's"]) {
    await assert.rejects(new RealtimeSession(url).connect({ [key]: "x" }), { code: "INVALID_ARGUMENT" });
  }
  // A client that bypasses the checks gets HANDSHAKE_REJECTED from the server.
  const { WebSocket } = await import("ws");
  const ws = new WebSocket(url, ["sessionkit.realtime.v1"]);
  await new Promise((r) => ws.once("open", r));
  ws.send(JSON.stringify({ t: "hello", v: 1, principal: "", credentials: "AAA=", properties: { $Principal: "root" } }));
  const [code, reason] = await new Promise<[number, string]>((r) => ws.once("close", (c, why) => r([c, why.toString()])));
  assert.equal(code, 4005);
  assert.equal(reason, "HANDSHAKE_REJECTED");
});

test("push to one session, to a property filter, and close from the server", async () => {
  const { server, url } = await startServer({ authenticator: (p) => ({ properties: { team: p.startsWith("red") ? "red" : "blue" } }) });
  await using _server = server;
  const clients = await Promise.all(["red1", "red2", "blue1"].map((p) => new RealtimeSession(url, { principal: p }).connect()));
  const got = new Map<string, unknown[]>();
  for (const c of clients) {
    got.set(c.principal, []);
    c.addHandler("news", (v) => {
      got.get(c.principal)!.push(v);
    });
  }
  await server.sendToSession(clients[2]!.sessionId!, "news", "for blue1");
  assert.equal(await server.sendToFilter({ team: "red" }, "news", "for reds"), 2);
  assert.equal(await server.sendToFilter((p) => p.$Principal === "blue1", "news", "by function"), 1);
  await waitFor(() => got.get("red1")!.length === 1 && got.get("red2")!.length === 1 && got.get("blue1")!.length === 2, "pushes");
  assert.deepEqual(got.get("blue1"), ["for blue1", "by function"]);
  await assert.rejects(server.sendToSession("0000000000000000-0000000000000000", "news", 1), { code: "SESSION_NOT_FOUND" });

  const closedReason = new Promise((r) => clients[0]!.once("closed", r));
  assert.equal(await server.closeSession(clients[0]!.sessionId!), true);
  assert.equal(await closedReason, CloseReason.CLOSED_BY_CONTROLLER);
  assert.equal(clients[0]!.state, "CLOSED_BY_SERVER");
  assert.equal(await server.closeSession(clients[0]!.sessionId!), false);
  for (const c of clients) await c.close();
});

test("stopping a standalone server closes its sessions with SERVER_CLOSING", async () => {
  const { server, url } = await startServer();
  const session = await new RealtimeSession(url).connect();
  await server.close();
  await waitFor(() => session.isClosed, "client close");
  assert.equal(session.state, "CLOSED_BY_SERVER");
  assert.equal(session.closeReason, CloseReason.SERVER_CLOSING);
});

test("a message larger than the server accepts is refused before sending", async () => {
  const { server, url } = await startServer({ maxMessageSize: 1000 });
  await using _server = server;
  await using session = await new RealtimeSession(url).connect();
  assert.throws(() => session.send("big", "x".repeat(2000)), { code: "MESSAGE_TOO_LARGE" });
  await assert.rejects(session.request("big", "x".repeat(2000)), { code: "MESSAGE_TOO_LARGE" });
  assert.equal(session.state, "CONNECTED_ACTIVE");
});

test("connection failures close as CLOSED_FAILED with CONNECTION_ERROR after trying every URL", async () => {
  const { server, url } = await startServer();
  const dead = url.replace(/:\d+\//, ":1/");
  const session = new RealtimeSession([dead, url]);
  await session.connect(); // the second URL works
  await session.close();
  await server.close();
  const none = new RealtimeSession([dead, dead]);
  await assert.rejects(none.connect(), { code: "CONNECTION_ERROR" });
  assert.equal(none.state, "CLOSED_FAILED");
});

test("the socket goes through the given HTTP Session (its features see the upgrade)", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  const http = new Session();
  const seen: string[] = [];
  http.on("request-queued", (msg) => seen.push(msg.url.href));
  const session = await new RealtimeSession(url, { httpSession: http }).connect();
  assert.equal(seen.length, 1);
  assert.equal(new URL(seen[0]!).pathname, "/realtime");
  await session.close();
  await http.close();
});

test("secrets stay out of inspect output", async () => {
  const { server, url } = await startServer();
  await using _server = server;
  await using session = await new RealtimeSession(url, { credentials: "topsecret" }).connect();
  const text = inspect(session, { depth: 10 }) + inspect(server.getSession(session.sessionId!), { depth: 10 });
  assert.ok(!text.includes("topsecret"));
  assert.ok(!text.includes(server.getSession(session.sessionId!)!.tokenHash));
});

test("close() during connect() ends it as CLOSED_BY_CLIENT", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  let asked = 0;
  const { server, url } = await startServer({
    authenticator: async () => {
      asked++;
      await gate;
      return true;
    },
  });
  await using _server = server;
  const session = new RealtimeSession(url);
  const connecting = session.connect();
  await waitFor(() => asked === 1, "the hello to be under check"); // really in the middle of connect()
  await session.close();
  release();
  await assert.rejects(connecting, { code: "CLOSED_BY_CLIENT" });
  assert.equal(session.state, "CLOSED_BY_CLIENT");
  await waitFor(() => server.sessions.size === 0, "no session left on the server");
});

test("bad options are refused with INVALID_ARGUMENT naming the option", async () => {
  const { RealtimeServer } = await import("../../src/realtime/index.js");
  assert.throws(() => new RealtimeSession([]), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new RealtimeSession("ftp://x"), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new RealtimeSession("ws://x", { reconnect: -1 }), { code: "INVALID_ARGUMENT" });
  assert.throws(() => new RealtimeSession("ws://x", { reconnect: { strategy: 5 as never } }), /reconnect.strategy/);
  assert.throws(() => new RealtimeServer({ keepAlive: 0 }), /options.keepAlive/);
  assert.throws(() => new RealtimeServer({ path: "nope" }), /options.path/);
  assert.throws(() => new RealtimeServer({ authenticator: "yes" as never }), /options.authenticator/);
});

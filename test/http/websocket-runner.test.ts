/**
 * The WebSocket upgrade is one kind of attempt in the session's message runner: cookies,
 * auth, redirects (and NO_REDIRECT), the proxy, synthetic responses, restart limits and
 * pool limits apply to it by the same rules as to `send`. Real sockets: a node:http server
 * whose 'upgrade' handler answers as each test needs, `ws` completing the good handshakes.
 */
import assert from "node:assert/strict";
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { RedirectError } from "../../src/errors.js";
import { CookieJar } from "../../src/features/cookies/index.js";
import type { SessionFeature } from "../../src/http/feature.js";
import { MessageHeaders } from "../../src/http/headers.js";
import { Message, MessageFlags } from "../../src/http/message.js";
import { WebsocketError } from "../../src/http/websocket.js";
import { defer, newSession, rejectsWithCode, startProxy, startServer } from "./helpers.js";

interface Seen {
  path: string;
  headers: IncomingMessage["headers"];
}

/** An origin whose upgrades are answered by `answer` (return true to accept with ws). */
async function wsOrigin(answer: (req: IncomingMessage, socket: Socket, seen: Seen[]) => boolean | void) {
  const seen: Seen[] = [];
  const wss = new WebSocketServer({ noServer: true });
  wss.on("headers", (headers, req) => {
    if (req.url === "/ws-cookie") headers.push("Set-Cookie: ws=from-101; Path=/; HttpOnly");
  });
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`echo:${m.toString()}`)));
  const server = http.createServer((_req, res) => res.end("plain"));
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    seen.push({ path: req.url ?? "", headers: req.headers });
    if (answer(req, socket, seen) === true) wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  defer(async () => {
    for (const c of wss.clients) c.terminate();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { port, url: `ws://127.0.0.1:${port}`, seen };
}

function raw(socket: Socket, head: string, body = ""): void {
  socket.end(`${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

async function echo(conn: { send(d: string): Promise<void>; once(e: "message", l: (d: unknown) => void): unknown; close(): Promise<void> }) {
  const got = new Promise<unknown>((r) => conn.once("message", r));
  await conn.send("hi");
  assert.equal(await got, "echo:hi");
  await conn.close();
}

describe("WebSocket upgrade through the message runner", () => {
  it("sends the jar's cookies on the upgrade and stores Set-Cookie from the 101", async () => {
    const o = await wsOrigin(() => true);
    const jar = new CookieJar();
    await jar.setCookie(`http://127.0.0.1:${o.port}/`, "sid=abc; Path=/");
    const s = newSession({ features: [jar] });
    const conn = await s.websocketConnect(new Message("GET", `${o.url}/ws-cookie`));
    assert.equal(o.seen[0].headers.cookie, "sid=abc");
    const stored = await jar.getCookies(`http://127.0.0.1:${o.port}/`);
    assert.deepEqual(stored.map((c) => c.name).sort(), ["sid", "ws"]);
    await echo(conn);
  });

  it("answers a 401 on the upgrade through the authenticate event and retries", async () => {
    const good = `Basic ${Buffer.from("u:p").toString("base64")}`;
    const o = await wsOrigin((req, socket) => {
      if (req.headers.authorization === good) return true;
      raw(socket, 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="ws"');
    });
    const s = newSession();
    const asked: string[] = [];
    s.on("authenticate", (a) => {
      asked.push(a.realm);
      a.authenticate("u", "p");
    });
    const conn = await s.websocketConnect(new Message("GET", `${o.url}/ws`));
    assert.deepEqual(asked, ["ws"]);
    assert.equal(o.seen.length, 2);
    assert.equal(o.seen[0].headers.authorization, undefined);
    assert.equal(o.seen[1].headers.authorization, good);
    await echo(conn);
  });

  it("uses credentials in the URL when challenged, never preemptively", async () => {
    const good = `Basic ${Buffer.from("alice:s3cret").toString("base64")}`;
    const o = await wsOrigin((req, socket) => {
      if (req.headers.authorization === good) return true;
      raw(socket, 'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="ws"');
    });
    const s = newSession();
    const conn = await s.websocketConnect(new Message("GET", `ws://alice:s3cret@127.0.0.1:${o.port}/ws`));
    assert.equal(o.seen.length, 2);
    assert.equal(o.seen[0].headers.authorization, undefined, "no preemptive Basic from the URL");
    assert.equal(o.seen[1].headers.authorization, good);
    await echo(conn);
  });

  it("follows a 302 (relative and to an absolute ws: URL), but not with NO_REDIRECT", async () => {
    const o = await wsOrigin((req, socket) => {
      if (req.url === "/ws-open") return true;
      if (req.url === "/ws-relative") return raw(socket, "HTTP/1.1 302 Found\r\nLocation: /ws-open");
      if (req.url === "/ws-absolute")
        return raw(socket, `HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${(socket.localPort ?? 0).toString()}/ws-open`);
      raw(socket, "HTTP/1.1 404 Not Found");
    });
    const s = newSession();
    const rel = new Message("GET", `${o.url}/ws-relative`);
    const c1 = await s.websocketConnect(rel);
    assert.equal(c1.url.pathname, "/ws-open");
    assert.equal(rel.restartCount, 1);
    await echo(c1);
    const c2 = await s.websocketConnect(new Message("GET", `${o.url}/ws-absolute`));
    assert.equal(c2.url.pathname, "/ws-open");
    await echo(c2);

    const no = new Message("GET", `${o.url}/ws-relative`);
    no.addFlags(MessageFlags.NO_REDIRECT);
    const err = await rejectsWithCode(s.websocketConnect(no), "NOT_WEBSOCKET");
    assert.ok(err instanceof WebsocketError);
    assert.equal(no.status, 302);
    assert.equal(no.responseHeaders.get("Location"), "/ws-open");
    assert.ok(no.responseBody !== null);
  });

  it("gives up after too many restarts with the same RedirectError as send()", async () => {
    const o = await wsOrigin((_req, socket) => raw(socket, "HTTP/1.1 302 Found\r\nLocation: /loop"));
    const s = newSession();
    const err = await rejectsWithCode(s.websocketConnect(new Message("GET", `${o.url}/loop`)), "TOO_MANY_REDIRECTS");
    assert.ok(err instanceof RedirectError);
  });

  it("a refusal is NOT_WEBSOCKET with the status, headers and body, and the error names what the server said", async () => {
    const o = await wsOrigin((_req, socket) => raw(socket, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain", "this server serves /realtime"));
    const s = newSession();
    const msg = new Message("GET", `${o.url}/`);
    const err = await rejectsWithCode(s.websocketConnect(msg), "NOT_WEBSOCKET");
    assert.match(err.message, /404/);
    assert.match(err.message, /serves \/realtime/);
    assert.equal(msg.status, 404);
    assert.equal(Buffer.from(msg.responseBody!).toString(), "this server serves /realtime");
  });

  it("goes through the proxy that proxyResolver names (a CONNECT tunnel)", async () => {
    const o = await wsOrigin(() => true);
    const proxy = await startProxy();
    const s = newSession({ proxyResolver: () => proxy.url });
    const conn = await s.websocketConnect(new Message("GET", `${o.url}/ws`));
    assert.deepEqual(proxy.connects, [`127.0.0.1:${o.port}`]);
    await echo(conn);
  });

  it("refuses an invalid proxy answer with PROXY_FAILED, as send() does", async () => {
    const o = await wsOrigin(() => true);
    const s = newSession({ proxyResolver: () => "ftp://nope" });
    await rejectsWithCode(s.websocketConnect(new Message("GET", `${o.url}/ws`)), "PROXY_FAILED");
    assert.equal(o.seen.length, 0);
  });

  it("a feature's SyntheticResponse ends the upgrade as NOT_WEBSOCKET without the network", async () => {
    const o = await wsOrigin(() => true);
    const canned: SessionFeature = {
      beforeSend: () => ({
        status: 403,
        reasonPhrase: "Forbidden",
        headers: new MessageHeaders({ "x-from": "feature" }),
        body: new TextEncoder().encode("no"),
      }),
    };
    const s = newSession({ features: [canned] });
    const msg = new Message("GET", `${o.url}/ws`);
    await rejectsWithCode(s.websocketConnect(msg), "NOT_WEBSOCKET");
    assert.equal(msg.status, 403);
    assert.equal(msg.responseHeaders.get("x-from"), "feature");
    assert.equal(Buffer.from(msg.responseBody!).toString(), "no");
    assert.equal(o.seen.length, 0);
  });

  it("a feature that throws fails the upgrade with FEATURE_FAILED naming it, not a network error", async () => {
    const o = await wsOrigin(() => true);
    class Broken implements SessionFeature {
      beforeSend(): void {
        throw new Error("kaboom");
      }
    }
    const s = newSession({ features: [new Broken()] });
    const err = await rejectsWithCode(s.websocketConnect(new Message("GET", `${o.url}/ws`)), "FEATURE_FAILED");
    assert.match(err.message, /Broken/);
    assert.equal((err.cause as Error).message, "kaboom");
  });

  it("counts against the pool's limits: with the origin's only connection busy it waits, then times out", async () => {
    const o = await wsOrigin(() => true);
    // The same origin serves plain requests on the same port.
    const s = newSession({ maxConnsPerHost: 1, timeout: 300 });
    const held = await s.send(new Message("GET", `http://127.0.0.1:${o.port}/plain`));
    const err = await rejectsWithCode(s.websocketConnect(new Message("GET", `${o.url}/ws`)), "TIMEOUT");
    assert.match(err.message, /busy/);
    assert.equal(o.seen.length, 0);
    await held.bytes();
    const conn = await s.websocketConnect(new Message("GET", `${o.url}/ws`));
    await echo(conn);
  });

  it("emits request-queued and request-unqueued once per upgrade, restarts included", async () => {
    const o = await wsOrigin((req, socket) => (req.url === "/ws-open" ? true : raw(socket, "HTTP/1.1 302 Found\r\nLocation: /ws-open")));
    const s = newSession();
    const events: string[] = [];
    s.on("request-queued", () => events.push("queued"));
    s.on("request-unqueued", () => events.push("unqueued"));
    const conn = await s.websocketConnect(new Message("GET", `${o.url}/ws`));
    assert.deepEqual(events, ["queued", "unqueued"]);
    await echo(conn);
  });

  it("plain requests still work on the same server (sanity for the helper)", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const s = newSession();
    assert.equal(Buffer.from(await s.sendAndRead(new Message("GET", srv.url))).toString(), "ok");
  });
});

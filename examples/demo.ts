/**
 * `npm run demo`: sessionkit end to end on its embedded defaults, with nothing to set up.
 *
 * It starts a local HTTP server (node:http, with sessionkit's server session middleware on
 * an SQLite store in a temporary directory) and a realtime server, then drives them with a
 * client `Session`: a redirect chain, a gzip body, parallel requests under the per-host
 * connection limit, Basic auth asked for through the `authenticate` event, a cookie-backed
 * server session that survives across requests, an HTTP cache hit, and a realtime session
 * round trip over WebSocket. It prints what happened at each step and exits non-zero if
 * anything did not behave as described.
 */
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { AddressInfo } from "node:net";
import { Cache, CookieJar, MemoryCacheStorage, Message, MessageFlags, Session } from "../src/index.js";
import { sessionData, sessionMiddleware } from "../src/server/index.js";
import { SqliteStore } from "../src/stores/sqlite.js";
import { RealtimeServer, RealtimeSession } from "../src/realtime/index.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-demo-"));
let failures = 0;
function check(ok: boolean, what: string): void {
  console.log(`  ${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures++;
}

// ── the server side ──────────────────────────────────────────────────────────────────────
const store = new SqliteStore({ path: join(dir, "sessions.db") });
const sessions = sessionMiddleware({ secret: "demo-secret-not-for-production-0123456789", store });
let open = 0;
let peak = 0;
const text = "sessionkit ".repeat(2000);

const server = http.createServer(
  sessions.node(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    switch (url.pathname) {
      case "/old":
        res.writeHead(301, { Location: "/moved" }).end();
        return;
      case "/moved":
        res.writeHead(302, { Location: "/gzip" }).end();
        return;
      case "/gzip":
        res.writeHead(200, { "Content-Type": "text/plain", "Content-Encoding": "gzip" }).end(gzipSync(text));
        return;
      case "/slow":
        setTimeout(() => res.end("done"), 100);
        return;
      case "/private/area": {
        const expected = `Basic ${Buffer.from("alice:wonderland").toString("base64")}`;
        if (req.headers.authorization !== expected) {
          res.writeHead(401, { "WWW-Authenticate": 'Basic realm="demo"' }).end();
          return;
        }
        res.end("welcome, alice");
        return;
      }
      case "/visit": {
        const s = sessionData(req);
        const visits = ((s.get("visits") as number | undefined) ?? 0) + 1;
        s.set("visits", visits);
        res.end(String(visits));
        return;
      }
      case "/cacheable":
        res.writeHead(200, { "Cache-Control": "max-age=60", "Content-Type": "application/json" });
        res.end(JSON.stringify({ at: Date.now() }));
        return;
      default:
        res.writeHead(404).end();
    }
  }),
);
server.on("connection", (socket) => {
  peak = Math.max(peak, ++open);
  socket.on("close", () => open--);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const realtime = new RealtimeServer({ authenticator: (principal) => principal === "demo" });
realtime.addHandler("echo", (value, session) => ({ echoed: value, by: session.principal }));
const realtimeUrl = await realtime.listen(0);

// ── the client side ──────────────────────────────────────────────────────────────────────
const session = new Session({ features: [new CookieJar(), new Cache({ storage: new MemoryCacheStorage() })] });
session.on("authenticate", (request) => {
  console.log(`  authenticate event: ${request.scheme} realm="${request.realm}", retry=${request.isRetry}`);
  request.authenticate("alice", "wonderland");
});

try {
  console.log(`sessionkit demo against ${base}\n`);

  console.log("1. Redirects (301 → 302 → 200) and a gzip body");
  const msg = new Message("GET", `${base}/old`);
  const restarts: string[] = [];
  msg.on("restarted", () => restarts.push(msg.url.pathname));
  const body = await session.sendAndRead(msg);
  console.log(`  GET /old → ${msg.status} at ${msg.url.pathname} after ${msg.restartCount} redirects (${restarts.join(" → ")})`);
  console.log(`  Content-Encoding: ${msg.responseHeaders.get("Content-Encoding")}, ${body.byteLength} bytes decoded`);
  check(msg.status === 200 && msg.restartCount === 2, "followed both redirects");
  check(new TextDecoder().decode(body) === text, "gzip body decoded transparently");

  console.log("\n2. Eight parallel requests under maxConnsPerHost = 2");
  const t0 = performance.now();
  const queued: string[] = [];
  const onQueued = () => queued.push("q");
  session.on("request-queued", onQueued);
  await Promise.all(Array.from({ length: 8 }, () => session.sendAndRead(new Message("GET", `${base}/slow`))));
  session.off("request-queued", onQueued);
  const ms = performance.now() - t0;
  console.log(`  8 × 100 ms requests took ${ms.toFixed(0)} ms; the server saw at most ${peak} connections at once`);
  check(peak <= 2, "never more than 2 connections to one host");
  check(queued.length === 8, "request-queued fired once per message");

  console.log("\n3. Basic auth through the authenticate event");
  const priv = new Message("GET", `${base}/private/area`);
  const welcome = new TextDecoder().decode(await session.sendAndRead(priv));
  console.log(`  GET /private/area → ${priv.status}: ${welcome}`);
  const again = new Message("GET", `${base}/private/area`);
  await session.sendAndRead(again);
  console.log(`  second GET /private/area → ${again.status} with no new challenge (credentials cached for the protection space)`);
  check(priv.status === 200 && again.status === 200 && again.restartCount === 0, "authenticated, then preemptively");

  console.log("\n4. A server session kept by cookie (SQLite store on the server, CookieJar on the client)");
  const counts: string[] = [];
  for (let i = 0; i < 3; i++) counts.push(new TextDecoder().decode(await session.sendAndRead(new Message("GET", `${base}/visit`))));
  console.log(`  visits: ${counts.join(", ")}; the client jar holds ${(await session.getFeature(CookieJar)!.allCookies()).length} cookie(s)`);
  check(counts.join(",") === "1,2,3", "the session persisted across requests");

  console.log("\n5. HTTP cache");
  const first = new Message("GET", `${base}/cacheable`);
  first.flags |= MessageFlags.COLLECT_METRICS;
  const a = new TextDecoder().decode(await session.sendAndRead(first));
  const second = new Message("GET", `${base}/cacheable`);
  second.flags |= MessageFlags.COLLECT_METRICS;
  const b = new TextDecoder().decode(await session.sendAndRead(second));
  console.log(
    `  first: fromCache=${first.fromCache}, second: fromCache=${second.fromCache}, network bytes ${second.metrics?.responseHeaderBytesReceived ?? 0}`,
  );
  check(!first.fromCache && second.fromCache && a === b, "second response came from the cache");

  console.log("\n6. A realtime session over WebSocket (through the same kind of Session)");
  await using rt = new RealtimeSession(realtimeUrl, { principal: "demo", credentials: "secret" });
  await rt.connect();
  const answer = await rt.request("echo", { hello: "world" });
  const { rtt } = await rt.pingServer();
  console.log(`  session ${rt.sessionId} is ${rt.state}; echo answered ${JSON.stringify(answer)}; ping rtt ${rtt.toFixed(1)} ms`);
  check(JSON.stringify(answer) === JSON.stringify({ echoed: { hello: "world" }, by: "demo" }), "request answered by the server handler");
  await rt.close();

  console.log(`\n${session}`);
} finally {
  await session.close();
  await realtime.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(failures === 0 ? "\nEverything behaved as described." : `\n${failures} check(s) failed.`);
process.exit(failures === 0 ? 0 : 1);

/**
 * `npm run demo`: every part of sessionkit end to end, on its embedded defaults, with
 * nothing to set up. It starts local servers (an HTTP app with server sessions on SQLite, a
 * PDS-like login server, a realtime server), drives them with the client side, and prints
 * one table row per step: part, step, result, time. Colour on a terminal; none under
 * NO_COLOR or when the output is piped (FORCE_COLOR=1 forces it). Exits non-zero if any
 * step did not behave as described.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Cache, CookieJar, MemoryCacheStorage, Message, Session } from "sessionkit";
import { AtprotoSession } from "sessionkit/login";
import { RealtimeServer, RealtimeSession } from "sessionkit/realtime";
import { sessionData, sessionMiddleware } from "sessionkit/server";
import { SqliteStore } from "sessionkit/stores/sqlite";
import { HANDLE, PASSWORD, startLocalPds } from "./lib/local-pds.mjs";

// ── the table ──────────────────────────────────────────────────────────────────────────
const env = process.env;
// FORCE_COLOR (non-empty, not "0") wins, as in Node itself; else colour on a terminal unless NO_COLOR is set.
const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0";
const color = forced || (!env.NO_COLOR && process.stdout.isTTY === true);
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const WIDTHS = [9, 50, 7];
const row = (cells, styles = []) => cells.map((c, i) => paint(styles[i] ?? 0, i < cells.length - 1 ? c.padEnd(WIDTHS[i]) : c)).join(" ");
let failures = 0;

async function step(part, name, fn) {
  const t0 = performance.now();
  let result;
  let detail;
  try {
    detail = await fn();
    result = "ok";
  } catch (err) {
    failures++;
    result = "FAIL";
    detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
  }
  const ms = `${(performance.now() - t0).toFixed(1).padStart(7)} ms`;
  console.log(row([part, name, result, ms], [36, 0, result === "ok" ? 32 : "1;31", 2]));
  if (detail) console.log(row(["", `  ${detail}`], [0, 2]));
}

// ── the servers ────────────────────────────────────────────────────────────────────────
const dir = mkdtempSync(join(tmpdir(), "sessionkit-demo-"));
const store = new SqliteStore({ path: join(dir, "sessions.db") });
const sessions = sessionMiddleware({ secret: "demo-secret-not-for-production-0123456789", store });
const text = "sessionkit ".repeat(2000);
let open = 0;
let peak = 0;
const app = http.createServer(
  sessions.node((req, res) => {
    switch (req.url) {
      case "/old":
        return res.writeHead(301, { Location: "/moved" }).end();
      case "/moved":
        return res.writeHead(302, { Location: "/gzip" }).end();
      case "/gzip":
        return res.writeHead(200, { "Content-Type": "text/plain", "Content-Encoding": "gzip" }).end(gzipSync(text));
      case "/slow":
        return void setTimeout(() => res.end("done"), 50);
      case "/private/area":
        if (req.headers.authorization !== `Basic ${Buffer.from("alice:wonderland").toString("base64")}`) {
          return res.writeHead(401, { "WWW-Authenticate": 'Basic realm="demo"' }).end();
        }
        return res.end("welcome, alice");
      case "/cacheable":
        return res.writeHead(200, { "Cache-Control": "max-age=60" }).end(JSON.stringify({ at: Date.now() }));
      case "/visit": {
        const session = sessionData(req);
        session.set("visits", (session.get("visits") ?? 0) + 1);
        return res.end(String(session.get("visits")));
      }
      default:
        return res.writeHead(404).end();
    }
  }),
);
app.on("connection", (socket) => {
  peak = Math.max(peak, ++open);
  socket.on("close", () => open--);
});
await new Promise((resolve) => app.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${app.address().port}`;
const pds = await startLocalPds();
const realtime = new RealtimeServer({ authenticator: (principal) => principal === "demo" });
realtime.addHandler("echo", (value, from) => ({ echoed: value, by: from.principal }));
const realtimeUrl = await realtime.listen(0);

// ── the client side ────────────────────────────────────────────────────────────────────
const session = new Session({ features: [new CookieJar(), new Cache({ storage: new MemoryCacheStorage() })] });
session.on("authenticate", (request) => request.authenticate("alice", "wonderland"));
const decode = (bytes) => new TextDecoder().decode(bytes);
let saved = "";
let restored;
let rt;

console.log(`sessionkit demo (Node ${process.version}), servers on 127.0.0.1\n`);
console.log(row(["part", "step", "result", "time"], [1, 1, 1, 1]));
try {
  await step("http", "redirects 301 → 302 → 200 with a gzip body", async () => {
    const msg = new Message("GET", `${base}/old`);
    const body = decode(await session.sendAndRead(msg));
    assert.equal(msg.status, 200);
    assert.equal(body, text);
    return `${msg.restartCount} redirects, ${body.length} bytes decoded`;
  });
  await step("http", "8 parallel requests under maxConnsPerHost = 2", async () => {
    await Promise.all(Array.from({ length: 8 }, () => session.sendAndRead(new Message("GET", `${base}/slow`))));
    assert.ok(peak <= 2, `the server saw ${peak} connections`);
    return `the server saw at most ${peak} connections`;
  });
  await step("http", "session.fetch through the same pool", async () => {
    const res = await session.fetch(`${base}/gzip`);
    assert.equal((await res.text()).length, text.length);
    return `${res.status}, ${res.headers.get("content-encoding")} decoded`;
  });
  await step("features", "Basic auth via the authenticate event", async () => {
    const first = new Message("GET", `${base}/private/area`);
    await session.sendAndRead(first);
    const again = new Message("GET", `${base}/private/area`);
    await session.sendAndRead(again);
    assert.equal(again.status, 200);
    assert.equal(again.restartCount, 0);
    return "challenged once, then sent preemptively";
  });
  await step("features", "HTTP cache: the second GET is a hit", async () => {
    const a = new Message("GET", `${base}/cacheable`);
    const first = decode(await session.sendAndRead(a));
    const b = new Message("GET", `${base}/cacheable`);
    const second = decode(await session.sendAndRead(b));
    assert.ok(!a.fromCache && b.fromCache && first === second, `fromCache ${a.fromCache} → ${b.fromCache}`);
    return "fromCache false → true";
  });
  await step("server", "server session on SQLite, kept by cookie", async () => {
    const visits = [];
    for (let i = 0; i < 3; i++) visits.push(decode(await session.sendAndRead(new Message("GET", `${base}/visit`))));
    assert.deepEqual(visits, ["1", "2", "3"]);
    return `visits ${visits.join(", ")}`;
  });
  await step("login", "log in with a password, export the session string", async () => {
    const first = new AtprotoSession({ service: pds.url });
    await first.login({ identifier: HANDLE, password: PASSWORD });
    saved = first.exportSessionString();
    await first.close();
    return `${saved.length}-character session string (a secret: not printed)`;
  });
  await step("login", "import it in a new session, no login round trip", async () => {
    restored = new AtprotoSession({ service: pds.url });
    await restored.login({ sessionString: saved });
    const me = await restored.get("app.example.whoami");
    assert.equal(pds.stats.logins, 1);
    return `whoami → ${me.handle}`;
  });
  await step("login", "expired token: 10 requests share one refresh", async () => {
    pds.expireAccessTokens();
    await Promise.all(Array.from({ length: 10 }, () => restored.get("app.example.whoami")));
    assert.equal(pds.stats.refreshes, 1);
    return `${pds.stats.refreshes} refresh for 10 requests`;
  });
  await step("realtime", "connect and make a request", async () => {
    rt = new RealtimeSession(realtimeUrl, { principal: "demo", credentials: "secret" });
    await rt.connect();
    const answer = await rt.request("echo", "hello");
    assert.deepEqual(answer, { echoed: "hello", by: "demo" });
    return `session ${rt.state}, echo answered`;
  });
  await step("realtime", "dropped connection recovered, same session", async () => {
    const id = rt.sessionId;
    const recovered = new Promise((resolve) => rt.once("recovered", resolve));
    realtime.getSession(id).socket.terminate();
    const pending = rt.request("echo", "sent while down");
    await recovered;
    assert.deepEqual(await pending, { echoed: "sent while down", by: "demo" });
    assert.equal(rt.sessionId, id);
    return "the request made while down was answered";
  });
} finally {
  await rt?.close();
  await restored?.close();
  await session.close();
  await realtime.close();
  await pds.close();
  app.close();
  app.closeAllConnections();
  await sessions.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

console.log(failures === 0 ? paint(32, "\nEvery step behaved as described.") : paint("1;31", `\n${failures} step(s) failed.`));
process.exitCode = failures === 0 ? 0 : 1;

/**
 * The HTTP client Session with features: cookies, the HTTP cache, Basic auth answered
 * through the `authenticate` event, gzip decoding (on by default), a redirect, and the
 * Logger, against a local server. Run from a clone with `npm run build` first:
 *
 *   node examples/client-features.mjs
 */
import assert from "node:assert/strict";
import http from "node:http";
import { gzipSync } from "node:zlib";
import { Cache, CookieJar, Logger, LoggerLogLevel, MemoryCacheStorage, Message, Session } from "sessionkit";

// ── a local server to talk to ──────────────────────────────────────────────────────────
const server = http.createServer((req, res) => {
  switch (req.url) {
    case "/login":
      return res.writeHead(302, { Location: "/home", "Set-Cookie": "sid=abc123; Path=/; HttpOnly" }).end();
    case "/home":
      return res.end(req.headers.cookie === "sid=abc123" ? "welcome back" : "who are you?");
    case "/report":
      res.writeHead(200, { "Content-Encoding": "gzip", "Cache-Control": "max-age=60" });
      return res.end(gzipSync(`report made at ${new Date().toISOString()}`));
    case "/private/page":
      if (req.headers.authorization !== `Basic ${Buffer.from("alice:wonderland").toString("base64")}`) {
        return res.writeHead(401, { "WWW-Authenticate": 'Basic realm="example"' }).end();
      }
      return res.end("the private page");
    default:
      return res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// ── the client ─────────────────────────────────────────────────────────────────────────
const log = [];
const session = new Session({
  features: [
    new CookieJar(),
    new Cache({ storage: new MemoryCacheStorage() }),
    new Logger({ level: LoggerLogLevel.MINIMAL, printer: (level, direction, line) => log.push(`${direction} ${line}`) }),
  ],
});
// libsoup's "authenticate" signal: asked once per protection space, then cached.
session.on("authenticate", (request) => request.authenticate("alice", "wonderland"));
const text = (bytes) => new TextDecoder().decode(bytes);

try {
  const login = new Message("GET", `${base}/login`);
  const home = text(await session.sendAndRead(login));
  console.log(`cookie kept across a redirect: ${home} (${login.url.pathname}, status ${login.status})`);
  assert.equal(home, "welcome back");

  const first = new Message("GET", `${base}/report`);
  const a = text(await session.sendAndRead(first));
  const second = new Message("GET", `${base}/report`);
  const b = text(await session.sendAndRead(second));
  console.log(`gzip decoded, then served from the cache: fromCache ${first.fromCache} → ${second.fromCache}`);
  assert.ok(!first.fromCache && second.fromCache && a === b);

  const res = await session.fetch(`${base}/private/page`); // WHATWG fetch through the same session
  console.log(`fetch with Basic auth: ${res.status} ${await res.text()}`);
  assert.equal(res.status, 200);

  console.log(`the Logger printed ${log.length} lines, e.g. ${JSON.stringify(log[0])}`);
  assert.ok(log.length > 0);
} finally {
  await session.close();
  server.close();
  server.closeAllConnections();
}

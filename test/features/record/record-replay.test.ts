/**
 * Record a flow against a real loopback server (redirect, Basic auth, cookies, the cache,
 * a gzip body, a secret query parameter), stop the server, replay the file offline with
 * the same features, and check the HAR holds no secret.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import zlib from "node:zlib";
import { Cache, CookieJar, Message, Recorder, Replayer, ReplayNoMatchError, Session, type Har } from "../../../src/index.js";

const PASSWORD = "hunter2-password";
const SID = "S3CR3T-session-id";
const BASIC = Buffer.from(`alice:${PASSWORD}`).toString("base64");
const TOKEN = "tok-abcdef-123456";

function startServer() {
  const counts: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    counts[path] = (counts[path] ?? 0) + 1;
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.setHeader("Date", new Date().toUTCString());
      if (path === "/login" && req.method === "POST") {
        if (!body.includes(`password=${PASSWORD}`)) {
          res.statusCode = 403;
          return res.end("bad password");
        }
        res.statusCode = 302;
        res.setHeader("Location", "/home");
        res.setHeader("Set-Cookie", `sid=${SID}; Path=/; HttpOnly`);
        return res.end();
      }
      if (path === "/home") {
        if (!(req.headers.cookie ?? "").includes(`sid=${SID}`)) {
          res.statusCode = 401;
          return res.end("no session");
        }
        res.setHeader("Cache-Control", "max-age=60");
        res.setHeader("Content-Type", "application/json");
        return res.end(JSON.stringify({ user: "alice", visits: counts[path] }));
      }
      if (path === "/private") {
        if (req.headers.authorization !== `Basic ${BASIC}`) {
          res.statusCode = 401;
          res.setHeader("WWW-Authenticate", 'Basic realm="r"');
          return res.end("auth needed");
        }
        return res.end("private data");
      }
      if (path === "/gz") {
        res.setHeader("Content-Type", "application/json");
        res.setHeader("Content-Encoding", "gzip");
        return res.end(zlib.gzipSync(JSON.stringify({ token: TOKEN, items: [1, 2, 3] })));
      }
      if (path === "/query") return res.end(`query ok ${new URL(req.url!, "http://x").searchParams.get("page")}`);
      res.statusCode = 404;
      res.end();
    });
  });
  return { server, counts };
}

/** The flow a user's suite would run; returns what it saw. */
async function flow(session: Session) {
  const out: Record<string, unknown> = {};
  const login = new Message("POST", `${base}/login`);
  login.setRequestBody("application/x-www-form-urlencoded", `user=alice&password=${PASSWORD}`);
  out.login = Buffer.from(await session.sendAndRead(login)).toString();
  out.loginUrl = login.url.pathname;
  const home1 = await session.fetch(`${base}/home`);
  out.home1 = await home1.json();
  const home2 = new Message("GET", `${base}/home`);
  out.home2 = JSON.parse(Buffer.from(await session.sendAndRead(home2)).toString());
  out.home2FromCache = home2.fromCache;
  const priv = new Message("GET", `${base}/private`);
  out.private = Buffer.from(await session.sendAndRead(priv)).toString();
  out.privateStatus = priv.status;
  out.gz = await (await session.fetch(`${base}/gz`)).json();
  out.query = await (await session.fetch(`${base}/query?access_token=${TOKEN}&page=2`)).text();
  return out;
}

function makeSession(first: Recorder | Replayer, jar = new CookieJar()) {
  const s = new Session({ features: [first, new Cache(), jar], proxyResolver: null });
  s.on("authenticate", (req) => req.authenticate("alice", PASSWORD));
  return s;
}

let base = "";
let dir = "";
let harPath = "";
let recorded: Record<string, unknown> = {};

describe("Recorder and Replayer", () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sessionkit-record-"));
    harPath = join(dir, "flow.har");
    const { server, counts } = startServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const recorder = new Recorder({ path: harPath });
    const session = makeSession(recorder);
    recorded = await flow(session);
    await session.close(); // writes the HAR (detach)
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    assert.equal(counts["/home"], 1, "the second /home was a cache hit while recording");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("recorded the flow as HAR 1.2: one entry per exchange with the network", () => {
    const har = JSON.parse(readFileSync(harPath, "utf8")) as Har;
    assert.equal(har.log.version, "1.2");
    assert.equal(har.log.creator.name, "sessionkit");
    const lines = har.log.entries.map((e) => `${e.request.method} ${new URL(e.request.url).pathname} ${e.response.status}`);
    assert.deepEqual(lines, ["POST /login 302", "GET /home 200", "GET /private 401", "GET /private 200", "GET /gz 200", "GET /query 200"]);
    const [login, home, , priv, gz] = har.log.entries;
    assert.equal(login.response.redirectURL, "/home");
    assert.deepEqual(JSON.parse(home.response.content.text!), { user: "alice", visits: 1 });
    assert.equal(priv.request.headers.find((h) => h.name.toLowerCase() === "authorization")?.value, "Basic [REDACTED]");
    assert.equal(gz.response.content.size, JSON.stringify({ token: TOKEN, items: [1, 2, 3] }).length, "the decoded size");
    assert.deepEqual(JSON.parse(gz.response.content.text!), { token: "[REDACTED]", items: [1, 2, 3] }, "decoded, then redacted");
  });

  it("the file holds no secret: password, cookie value, Basic credentials, token", () => {
    const text = readFileSync(harPath, "utf8");
    for (const secret of [PASSWORD, SID, BASIC, TOKEN]) assert.equal(text.includes(secret), false, secret);
    assert.match(text, /sid=\[REDACTED\]; Path=\/; HttpOnly/);
    assert.match(text, /access_token=\[REDACTED\]&page=2/);
  });

  it("replays offline with cookies, credentials, redirects and the cache on top", async () => {
    const jar = new CookieJar();
    const replayer = new Replayer({ har: harPath });
    await using session = makeSession(replayer, jar);
    const replayed = await flow(session);
    assert.equal(replayed.home2FromCache, true, "the cache answered the second /home");
    assert.equal(replayed.loginUrl, "/home", "the replayed 302 was followed");
    assert.equal(replayed.privateStatus, 200, "the replayed 401 was answered with credentials");
    assert.deepEqual(replayed, { ...recorded, gz: { token: "[REDACTED]", items: [1, 2, 3] } });
    const cookies = await jar.getCookies(`${base}/home`);
    assert.deepEqual(
      cookies.map((c) => c.name),
      ["sid"],
      "the cookie came from the replayed Set-Cookie",
    );
    assert.equal(replayer.remaining, 0, "every recorded exchange was used");
    // The server is gone: anything not recorded fails with a typed error, never the network.
    await assert.rejects(session.fetch(`${base}/home?other=1`), (e: unknown) => e instanceof ReplayNoMatchError && e.code === "REPLAY_NO_MATCH");
    await assert.rejects(
      session.fetch(`${base}/gz`),
      (e: unknown) => e instanceof ReplayNoMatchError && /all 1 recorded for it were used/.test(e.message),
    );
  });
});

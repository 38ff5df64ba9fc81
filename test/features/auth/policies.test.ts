/**
 * AuthManager policies through a real Session against loopback servers: the authenticate
 * event (sync, deferred, cancelled, retries), URL credentials, useAuth, the cache and its
 * protection spaces, DO_NOT_USE_AUTH_CACHE, wrong credentials, Bearer, custom schemes.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { afterEach, describe, it } from "node:test";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Session } from "../../../src/http/session.js";
import { Message, MessageFlags } from "../../../src/http/message.js";
import type { AuthenticateRequest } from "../../../src/http/authenticate.js";
import { Auth, AuthBasic, AuthBearer, AuthManager, AuthDigest } from "../../../src/features/auth/index.js";
import { basic, startServer, type TestServer } from "./servers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<TestServer> {
  const s = await startServer(handler);
  cleanups.push(() => s.close());
  return s;
}

function session(): Session {
  const s = new Session({ proxyResolver: null });
  cleanups.push(() => s.close());
  return s;
}

/** A server protecting everything with Basic realm "r" for user/pass. */
function basicServer(user = "user", pass = "pass", realm = "r") {
  return server((req, res) => {
    if (req.headers.authorization === basic(user, pass)) {
      res.end(`ok ${req.url}`);
    } else {
      res.writeHead(401, { "WWW-Authenticate": `Basic realm="${realm}"` });
      res.end("denied");
    }
  });
}

async function get(s: Session, url: string, flags = 0): Promise<{ msg: Message; text: string }> {
  const msg = new Message("GET", url);
  msg.addFlags(flags);
  const text = Buffer.from(await s.sendAndRead(msg)).toString();
  return { msg, text };
}

describe("AuthManager through a Session", () => {
  it("is on by default and exposes the built-in schemes as sub-features", () => {
    const s = session();
    assert.ok(s.getFeature(AuthManager));
    assert.ok(s.hasFeature(AuthBasic) && s.hasFeature(AuthDigest) && s.hasFeature(AuthBearer));
    assert.equal(new Session({ proxyResolver: null, defaultFeatures: false }).getFeature(AuthManager), null);
  });

  it("emits authenticate on a 401, requeues with the answer, then authorizes without a round trip", async () => {
    const srv = await basicServer();
    const s = session();
    const events: AuthenticateRequest[] = [];
    s.on("authenticate", (req) => {
      events.push(req);
      req.authenticate("user", "pass");
    });
    const first = await get(s, `${srv.url}/dir/a`);
    assert.equal(first.msg.status, 200);
    assert.equal(first.text, "ok /dir/a");
    assert.equal(events.length, 1);
    assert.equal(events[0].scheme, "Basic");
    assert.equal(events[0].realm, "r");
    assert.equal(events[0].isRetry, false);
    assert.equal(events[0].isProxy, false);
    assert.equal(events[0].message, first.msg);
    const shown = inspect(events[0], { depth: 6 }) + inspect(s.getFeature(AuthManager), { depth: 6 }) + String(s.getFeature(AuthManager));
    assert.ok(!shown.includes("pass") && !shown.includes(Buffer.from("user:pass").toString("base64")));
    assert.equal(srv.count, 2);
    // Same directory: the cached credentials go along up front.
    await get(s, `${srv.url}/dir/b`);
    assert.equal(srv.count, 3);
    // Another directory (outside the protection space): one 401, answered from the realm cache.
    const other = await get(s, `${srv.url}/elsewhere`);
    assert.equal(other.msg.status, 200);
    assert.equal(srv.count, 5);
    assert.equal(events.length, 1);
  });

  it("waits for credentials supplied asynchronously (defer)", async () => {
    const srv = await basicServer();
    const s = session();
    s.on("authenticate", (req) => {
      req.defer();
      setTimeout(() => req.authenticate("user", "pass"), 20);
    });
    const { msg } = await get(s, `${srv.url}/x`);
    assert.equal(msg.status, 200);
  });

  it("asks once for concurrent requests to the same realm while the answer is pending", async () => {
    const srv = await basicServer();
    const s = session();
    let asked = 0;
    s.on("authenticate", (req) => {
      asked++;
      req.defer();
      setTimeout(() => req.authenticate("user", "pass"), 30);
    });
    const results = await Promise.all([1, 2, 3, 4].map((i) => get(s, `${srv.url}/c${i}`)));
    assert.deepEqual(
      results.map((r) => r.msg.status),
      [200, 200, 200, 200],
    );
    assert.equal(asked, 1);
  });

  it("hands the 401 to the caller when nobody answers or the listener cancels", async () => {
    const srv = await basicServer();
    const s = session();
    const { msg, text } = await get(s, `${srv.url}/x`);
    assert.equal(msg.status, 401);
    assert.equal(text, "denied");
    s.on("authenticate", (req) => req.cancel());
    assert.equal((await get(s, `${srv.url}/x`)).msg.status, 401);
    s.removeAllListeners("authenticate");
    s.on("authenticate", (req) => {
      req.defer();
      setTimeout(() => req.cancel(), 5);
    });
    assert.equal((await get(s, `${srv.url}/x`)).msg.status, 401);
  });

  it("retries with isRetry after wrong credentials and ends in the final 401 when they stay wrong", async () => {
    const srv = await basicServer();
    const s = session();
    const retries: boolean[] = [];
    s.on("authenticate", (req) => {
      retries.push(req.isRetry);
      req.authenticate("user", retries.length === 1 ? "wrong" : "pass");
    });
    assert.equal((await get(s, `${srv.url}/a`)).msg.status, 200);
    assert.deepEqual(retries, [false, true]);

    // The same wrong answer every time: asked twice, then the 401 (no loop).
    const s2 = session();
    let asked = 0;
    s2.on("authenticate", (req) => {
      asked++;
      req.authenticate("user", "wrong");
    });
    const r = await get(s2, `${srv.url}/a`);
    assert.equal(r.msg.status, 401);
    assert.equal(asked, 2);

    // A different wrong answer every time: bounded, still the 401 and not an exception.
    const s3 = session();
    let n = 0;
    s3.on("authenticate", (req) => req.authenticate("user", `wrong${n++}`));
    assert.equal((await get(s3, `${srv.url}/a`)).msg.status, 401);
    assert.ok(n <= 9, `asked ${n} times`);
  });

  it("uses credentials from the URL first and removes them from the URL", async () => {
    const srv = await basicServer("u s", "p@ss");
    const s = session();
    let asked = 0;
    s.on("authenticate", () => asked++);
    const url = srv.url.replace("http://", "http://u%20s:p%40ss@") + "/x";
    const { msg } = await get(s, url);
    assert.equal(msg.status, 200);
    assert.equal(asked, 0);
    assert.equal(msg.url.username, "");
    assert.equal(msg.url.password, "");
    assert.ok(!msg.url.href.includes("p%40ss"));
    // Wrong URL credentials: the event follows with isRetry.
    const retry: boolean[] = [];
    s.on("authenticate", (req) => {
      retry.push(req.isRetry);
      req.authenticate("u s", "p@ss");
    });
    const bad = await get(s, srv.url.replace("http://", "http://u%20s:nope@") + "/other/y");
    assert.equal(bad.msg.status, 200);
    assert.deepEqual(retry, [true]);
  });

  it("useAuth preloads Basic and Bearer credentials; clearCachedCredentials forgets them", async () => {
    const srv = await server((req, res) => {
      const ok = req.headers.authorization === basic("user", "pass") || req.headers.authorization === "Bearer tok123";
      res.writeHead(ok ? 200 : 401, ok ? {} : { "WWW-Authenticate": `Basic realm="r"` });
      res.end();
    });
    const s = session();
    const mgr = s.getFeature(AuthManager)!;
    const auth = new AuthBasic({ url: `${srv.url}/api/` });
    auth.authenticate("user", "pass");
    mgr.useAuth(`${srv.url}/api/`, auth);
    assert.equal((await get(s, `${srv.url}/api/items`)).msg.status, 200);
    assert.equal(srv.count, 1);
    // Outside the preloaded space nothing is sent up front.
    assert.equal((await get(s, `${srv.url}/other`)).msg.status, 200); // 401, then the realm cache (auth has no realm)
    assert.equal(srv.count, 3);

    const bearer = new AuthBearer({ url: `${srv.url}/b/` });
    bearer.authenticate("", "tok123");
    mgr.clearCachedCredentials();
    mgr.useAuth(`${srv.url}/b/`, bearer);
    assert.equal((await get(s, `${srv.url}/b/1`)).msg.status, 200);
    assert.equal(srv.authorizations.at(-1), "Bearer tok123");
    mgr.clearCachedCredentials();
    assert.equal((await get(s, `${srv.url}/b/1`)).msg.status, 401);
    assert.equal(srv.authorizations.at(-1), null);
    assert.throws(() => mgr.useAuth("http://elsewhere.test/", bearer), { code: "AUTH_INVALID_SCHEME" });
  });

  it("DO_NOT_USE_AUTH_CACHE neither reads nor fills the cache", async () => {
    const srv = await basicServer();
    const s = session();
    let asked = 0;
    s.on("authenticate", (req) => {
      asked++;
      req.authenticate("user", "pass");
    });
    await get(s, `${srv.url}/a`);
    assert.equal(asked, 1);
    const flagged = await get(s, `${srv.url}/a`, MessageFlags.DO_NOT_USE_AUTH_CACHE);
    assert.equal(flagged.msg.status, 200);
    assert.equal(asked, 2);
    assert.equal(srv.authorizations.at(-2), null); // no preemptive header
    s.getFeature(AuthManager)!.clearCachedCredentials();
    await get(s, `${srv.url}/b`, MessageFlags.DO_NOT_USE_AUTH_CACHE);
    assert.equal(asked, 3);
    await get(s, `${srv.url}/b`);
    assert.equal(asked, 4); // the flagged message stored nothing
  });

  it("Bearer challenges get the token; a caller's own Authorization header is left alone", async () => {
    const srv = await server((req, res) => {
      const ok = req.headers.authorization === "Bearer good-token";
      res.writeHead(ok ? 200 : 401, ok ? {} : { "WWW-Authenticate": `Bearer realm="api", error="invalid_token"` });
      res.end();
    });
    const s = session();
    const seen: AuthenticateRequest[] = [];
    s.on("authenticate", (req) => {
      seen.push(req);
      req.authenticate("", "good-token");
    });
    const own = new Message("GET", `${srv.url}/x`);
    own.requestHeaders.set("Authorization", "Bearer good-token");
    await s.sendAndRead(own);
    assert.equal(own.status, 200);
    assert.equal(seen.length, 0);
    const { msg } = await get(s, `${srv.url}/y`);
    assert.equal(msg.status, 200);
    assert.equal(seen[0].scheme, "Bearer");
    assert.equal(seen[0].params.error, "invalid_token");
  });

  it("picks the strongest challenge and accepts new schemes through addFeatureByType", async () => {
    class AuthToy extends Auth {
      static override readonly schemeName = "Toy";
      static override readonly strength = 100;
      getAuthorization(): string | null {
        return this.isAuthenticated ? `Toy ${Buffer.from(this.password).toString("hex")}` : null;
      }
    }
    const srv = await server((req, res) => {
      const ok = req.headers.authorization === `Toy ${Buffer.from("pw").toString("hex")}`;
      res.writeHead(ok ? 200 : 401, ok ? {} : { "WWW-Authenticate": [`Basic realm="r"`, `Toy realm="t"`, `Bearer realm="b"`] });
      res.end();
    });
    const s = session();
    const schemes: string[] = [];
    s.on("authenticate", (req) => {
      schemes.push(req.scheme);
      req.authenticate("u", "pw");
    });
    assert.equal((await get(s, `${srv.url}/`)).msg.status, 401); // Toy unknown: Bearer wins, token refused
    assert.deepEqual(schemes, ["Bearer", "Bearer"]);
    assert.equal(s.addFeatureByType(AuthToy), true);
    assert.ok(s.hasFeature(AuthToy));
    schemes.length = 0;
    assert.equal((await get(s, `${srv.url}/`)).msg.status, 200);
    assert.deepEqual(schemes, ["Toy"]);
    assert.equal(s.removeFeatureByType(AuthToy), true);
    assert.equal(s.hasFeature(AuthToy), false);
    assert.equal(s.getFeature(AuthManager)!.addSubFeature(Message), false);
  });

  it("works through session.fetch", async () => {
    const srv = await basicServer();
    const s = session();
    s.on("authenticate", (req) => req.authenticate("user", "pass"));
    const res = await s.fetch(`${srv.url}/f`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok /f");
  });

  it("never sends credentials to another origin after a redirect", async () => {
    const other = await server((req, res) => {
      res.end(req.headers.authorization ?? "none");
    });
    const srv = await server((req, res) => {
      if (req.headers.authorization !== basic("user", "pass")) {
        res.writeHead(401, { "WWW-Authenticate": `Basic realm="r"` });
        res.end();
        return;
      }
      res.writeHead(302, { Location: `${other.url}/landing` });
      res.end();
    });
    const s = session();
    s.on("authenticate", (req) => req.authenticate("user", "pass"));
    const { msg, text } = await get(s, `${srv.url}/start`);
    assert.equal(msg.status, 200);
    assert.equal(text, "none");
  });

  it("a message waiting for a deferred answer is released when the session closes", async () => {
    const srv = await basicServer();
    const s = new Session({ proxyResolver: null });
    s.on("authenticate", (req) => req.defer()); // never answered
    const pending = get(s, `${srv.url}/x`);
    await new Promise((r) => setTimeout(r, 30));
    await s.close();
    await assert.rejects(pending, { code: "ABORTED" });
  });
});

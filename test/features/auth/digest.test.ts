/**
 * Digest through a real Session against a verifying loopback server: every algorithm and
 * qop, RFC 2069 mode, userhash and username*, strongest-challenge choice, preemptive
 * requests with counted nc, stale=true, nextnonce, rspauth and protection spaces.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Session } from "../../../src/http/session.js";
import { Message } from "../../../src/http/message.js";
import { AuthError } from "../../../src/features/auth/index.js";
import { DigestVerifier, type DigestServerOptions } from "./digest-server.js";
import { startServer, type TestServer } from "./servers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function digestServer(
  opts: Partial<DigestServerOptions> & { extraChallenges?: string[] } = {},
): Promise<{ srv: TestServer; v: DigestVerifier }> {
  const v = new DigestVerifier({ users: { Mufasa: "Circle of Life" }, ...opts });
  const srv = await startServer((req, res, body) => {
    const r = v.check(req, body);
    if (r.ok) {
      const headers: Record<string, string> = {};
      if (r.authInfo) headers["Authentication-Info"] = r.authInfo;
      res.writeHead(200, headers);
      res.end(`ok ${req.method} ${req.url} ${body.length}`);
      return;
    }
    res.writeHead(401, { "WWW-Authenticate": [...(opts.extraChallenges ?? []), ...v.challenges(r.stale)] });
    res.end("denied");
  });
  cleanups.push(() => srv.close());
  return { srv, v };
}

function session(user = "Mufasa", pass = "Circle of Life"): { s: Session; asked: () => number } {
  const s = new Session({ proxyResolver: null });
  cleanups.push(() => s.close());
  let n = 0;
  s.on("authenticate", (req) => {
    n++;
    req.authenticate(user, pass);
  });
  return { s, asked: () => n };
}

async function request(s: Session, method: string, url: string, body?: string): Promise<Message> {
  const msg = new Message(method, url);
  if (body !== undefined) msg.setRequestBody("text/plain", body);
  await s.sendAndRead(msg);
  return msg;
}

describe("Digest through a Session", () => {
  for (const algorithm of ["MD5", "SHA-256", "SHA-512-256", "MD5-sess", "SHA-256-sess", "SHA-512-256-sess"]) {
    for (const qop of ["auth", "auth-int", "auth,auth-int"]) {
      it(`${algorithm} qop=${qop}: authenticates, then later requests cost no extra round trip`, async () => {
        const { srv, v } = await digestServer({ algorithms: [algorithm], qop });
        const { s, asked } = session();
        const first = await request(s, "POST", `${srv.url}/dir/a`, "payload");
        assert.equal(first.status, 200);
        assert.equal(srv.count, 2);
        const second = await request(s, "GET", `${srv.url}/dir/b`);
        assert.equal(second.status, 200);
        assert.equal(srv.count, 3, "the cached Digest credentials were sent up front");
        assert.equal(asked(), 1);
        assert.deepEqual(
          v.accepted.map((p) => p.nc),
          ["00000001", "00000002"],
        );
        assert.equal(v.accepted[0].qop, qop === "auth" ? "auth" : "auth-int");
        assert.equal(v.accepted[0].algorithm, algorithm);
      });
    }
  }

  it("RFC 2069 mode (no qop)", async () => {
    const { srv, v } = await digestServer({ qop: null });
    const { s } = session();
    assert.equal((await request(s, "GET", `${srv.url}/x`)).status, 200);
    assert.equal((await request(s, "GET", `${srv.url}/y`)).status, 200);
    assert.equal(srv.count, 3);
    assert.equal(v.accepted[0].nc, undefined);
  });

  it("a stream body with qop=auth,auth-int uses auth", async () => {
    const { srv, v } = await digestServer({ qop: "auth,auth-int" });
    const { s } = session();
    const msg = new Message("PUT", `${srv.url}/up`);
    msg.setRequestBody("text/plain", "replayable first");
    await s.sendAndRead(msg);
    const streamed = new Message("PUT", `${srv.url}/up`);
    streamed.setRequestBody(
      "application/octet-stream",
      (async function* () {
        yield new TextEncoder().encode("streamed");
      })(),
    );
    await s.sendAndRead(streamed);
    assert.equal(streamed.status, 200);
    assert.equal(v.accepted.at(-1)!.qop, "auth");
  });

  it("userhash with charset=UTF-8 and a non-ASCII user; username* without userhash", async () => {
    const user = "J\u00e4s\u00f8n Doe";
    const hashed = await digestServer({ users: { [user]: "Secret, or not?" }, algorithms: ["SHA-512-256"], userhash: true, charset: true });
    const a = session(user, "Secret, or not?");
    assert.equal((await request(a.s, "GET", `${hashed.srv.url}/doe.json`)).status, 200);
    assert.notEqual(hashed.v.accepted[0].username, user);
    const plain = await digestServer({ users: { [user]: "pw" }, algorithms: ["SHA-256"], charset: true });
    const b = session(user, "pw");
    assert.equal((await request(b.s, "GET", `${plain.srv.url}/x`)).status, 200);
    assert.equal(plain.v.accepted[0]["username*"], "UTF-8''J%C3%A4s%C3%B8n%20Doe");
  });

  it("picks the strongest of several challenges (SHA-512-256 over SHA-256, MD5, Bearer, Basic)", async () => {
    const { srv, v } = await digestServer({
      algorithms: ["MD5", "SHA-256", "SHA-512-256"],
      extraChallenges: [`Basic realm="b"`, `Bearer realm="t"`, `Digest realm="x", nonce="n", algorithm=SHA-3`],
    });
    const { s } = session();
    const schemes: string[] = [];
    s.on("authenticate", (req) => schemes.push(`${req.scheme} ${req.params.algorithm}`));
    assert.equal((await request(s, "GET", `${srv.url}/`)).status, 200);
    assert.equal(v.accepted[0].algorithm, "SHA-512-256");
    assert.deepEqual(schemes, ["Digest SHA-512-256"]);
  });

  it("stale=true: retried with the new nonce without asking again", async () => {
    const { srv, v } = await digestServer({ nonceUses: 2, algorithms: ["SHA-256"] });
    const { s, asked } = session();
    for (let i = 0; i < 5; i++) assert.equal((await request(s, "GET", `${srv.url}/p${i}`)).status, 200);
    assert.equal(asked(), 1);
    const nonces = new Set(v.accepted.map((p) => p.nonce));
    assert.ok(nonces.size >= 2, "a new nonce was used after stale=true");
    // nc starts again at 1 for each nonce.
    for (const n of nonces) assert.equal(v.accepted.find((p) => p.nonce === n)!.nc, "00000001");
  });

  it("a server that always says stale=true ends in the 401, not a loop", async () => {
    const v = new DigestVerifier({ users: { Mufasa: "Circle of Life" } });
    const srv = await startServer((req, res) => {
      res.writeHead(401, { "WWW-Authenticate": v.challenges(req.headers.authorization !== undefined) });
      res.end();
    });
    cleanups.push(() => srv.close());
    const { s } = session();
    assert.equal((await request(s, "GET", `${srv.url}/`)).status, 401);
    assert.ok(srv.count < 15, `${srv.count} requests`);
    // A listener with a new password every time: still the 401, never TOO_MANY_REDIRECTS.
    const s2 = new Session({ proxyResolver: null });
    cleanups.push(() => s2.close());
    let n = 0;
    s2.on("authenticate", (req) => req.authenticate("Mufasa", `guess ${n++}`));
    const before = srv.count;
    assert.equal((await request(s2, "GET", `${srv.url}/`)).status, 401);
    assert.ok(srv.count - before <= 16, `${srv.count - before} requests`);
  });

  it("nextnonce from Authentication-Info is used for the next request, nc back to 1", async () => {
    const { srv, v } = await digestServer({ nextnonce: true });
    const { s } = session();
    await request(s, "GET", `${srv.url}/a`);
    await request(s, "GET", `${srv.url}/b`);
    await request(s, "GET", `${srv.url}/c`);
    assert.equal(srv.count, 4);
    assert.equal(new Set(v.accepted.map((p) => p.nonce)).size, 3);
    assert.deepEqual(
      v.accepted.map((p) => p.nc),
      ["00000001", "00000001", "00000001"],
    );
  });

  it("checks rspauth: a right one passes, a wrong one rejects the response", async () => {
    const good = await digestServer({ rspauth: true });
    const a = session();
    assert.equal((await request(a.s, "GET", `${good.srv.url}/`)).status, 200);
    assert.equal((await request(a.s, "GET", `${good.srv.url}/again`)).status, 200);
    const bad = await digestServer({ rspauth: "wrong" });
    const b = session();
    await assert.rejects(request(b.s, "GET", `${bad.srv.url}/`), (e: unknown) => e instanceof AuthError && e.code === "AUTH_RSPAUTH_MISMATCH");
  });

  it("the domain list sets where credentials go up front", async () => {
    const { srv } = await digestServer({ domain: "/a/ /b/" });
    const { s, asked } = session();
    await request(s, "GET", `${srv.url}/a/1`);
    assert.equal(srv.count, 2);
    await request(s, "GET", `${srv.url}/b/2`);
    assert.equal(srv.count, 3); // in the protection space: no round trip
    await request(s, "GET", `${srv.url}/c/3`);
    assert.equal(srv.count, 5); // outside: a 401 first, answered from the realm cache
    assert.equal(asked(), 1);
  });

  it("two realms on one origin: cached credentials of one are not taken as wrong for the other", async () => {
    const a = new DigestVerifier({ users: { Mufasa: "Circle of Life" }, realm: "A", algorithms: ["MD5"] });
    const b = new DigestVerifier({ users: { Mufasa: "Circle of Life" }, realm: "B", algorithms: ["SHA-256"] });
    const srv = await startServer((req, res, body) => {
      const v = req.url!.startsWith("/a") ? a : b;
      const r = v.check(req, body);
      res.writeHead(r.ok ? 200 : 401, r.ok ? {} : { "WWW-Authenticate": v.challenges(r.stale) });
      res.end();
    });
    cleanups.push(() => srv.close());
    const { s, asked } = session();
    const retries: boolean[] = [];
    s.on("authenticate", (req) => retries.push(req.isRetry));
    for (let i = 0; i < 6; i++) assert.equal((await request(s, "GET", `${srv.url}/${i % 2 ? "b" : "a"}/x`)).status, 200);
    assert.equal(asked(), 2);
    assert.deepEqual(retries, [false, false]);
  });

  it("wrong Digest password: asked again with isRetry, then the final 401", async () => {
    const { srv } = await digestServer({ algorithms: ["SHA-256"] });
    const s = new Session({ proxyResolver: null });
    cleanups.push(() => s.close());
    const retries: boolean[] = [];
    s.on("authenticate", (req) => {
      retries.push(req.isRetry);
      req.authenticate("Mufasa", "wrong");
    });
    assert.equal((await request(s, "GET", `${srv.url}/`)).status, 401);
    assert.deepEqual(retries, [false, true]);
  });
});

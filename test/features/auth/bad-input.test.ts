/**
 * Hostile input through a real Session: random and truncated WWW-Authenticate,
 * Proxy-less Authentication-Info and Digest parameters must never throw out of the
 * session, loop, or grow the cache without bound; and no secret may reach the Logger.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import { Session } from "../../../src/http/session.js";
import { Message } from "../../../src/http/message.js";
import { Logger, LoggerLogLevel } from "../../../src/features/logger.js";
import { AuthBasic, AuthDigest, parseChallenges } from "../../../src/features/auth/index.js";
import { AuthCache } from "../../../src/features/auth/cache.js";
import { DigestVerifier } from "./digest-server.js";
import { basic, startServer } from "./servers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

// Characters Node accepts in a header value (no CR/LF/NUL), weighted towards syntax.
const ALPHABET = `abcXYZ019 \t,=";\\'*%+/-_.~()<>@:[]{}?\u00e4\u00ff`;
const SEEDS = [
  `Digest realm="r", nonce="abc", qop="auth,auth-int", algorithm=SHA-256-sess, opaque="o", domain="/a /b http://x/", stale=true, userhash=true, charset=UTF-8`,
  `Basic realm*=UTF-8''%E2%82%AC, Bearer error="invalid_token", Negotiate abc==, Digest nonce=n`,
  `Digest realm="r", nonce="n", algorithm=MD5, qop=auth-int`,
];

function randomHeader(i: number): string {
  if (i % 3 === 0) {
    const seed = SEEDS[i % SEEDS.length];
    return seed.slice(0, 1 + Math.floor(Math.random() * (seed.length - 1)));
  }
  if (i % 3 === 1) return Array.from(randomBytes(1 + (i % 120)), (b) => ALPHABET[b % ALPHABET.length]).join("");
  // A valid seed with random bytes flipped.
  const chars = [...SEEDS[i % SEEDS.length]];
  for (let k = 0; k < 5; k++) chars[Math.floor(Math.random() * chars.length)] = ALPHABET[Math.floor(Math.random() * ALPHABET.length)];
  return chars.join("");
}

describe("bad input", () => {
  it("random and truncated challenges never throw out of the session or loop", async () => {
    let i = 0;
    const srv = await startServer((req, res) => {
      const n = i++;
      if (req.headers.authorization !== undefined && n % 5 === 0) {
        // Sometimes accept, with a garbage Authentication-Info (no rspauth to check).
        res.writeHead(200, { "Authentication-Info": randomHeader(n).replace(/rspauth/gi, "x") });
        res.end();
        return;
      }
      res.writeHead(401, { "WWW-Authenticate": [randomHeader(n), randomHeader(n + 1)] });
      res.end("no");
    });
    cleanups.push(() => srv.close());
    const s = new Session({ proxyResolver: null });
    cleanups.push(() => s.close());
    s.on("authenticate", (req) => req.authenticate("user", `pw${Math.random()}`));
    for (let round = 0; round < 150; round++) {
      const before = srv.count;
      const msg = new Message("GET", `${srv.url}/r${round}/`);
      await s.sendAndRead(msg);
      assert.ok(msg.status === 200 || msg.status === 401, `status ${msg.status}`);
      assert.ok(srv.count - before <= 15, "bounded number of round trips");
    }
  });

  it("keeps the credential cache bounded against hostile protection spaces", () => {
    const cache = new AuthCache();
    for (let i = 0; i < 1000; i++) {
      const a = new AuthBasic({ url: `http://h${i}.test/` });
      a.authenticate("u", "p");
      cache.add(a);
    }
    assert.ok(cache.size <= 256);
    const domain = Array.from({ length: 10_000 }, (_, i) => `/p${i}/`).join(" ");
    const d = new AuthDigest({ url: "http://h.test/", challenge: parseChallenges(`Digest realm="r", nonce="n", domain="${domain}"`)[0] });
    assert.ok(d.getProtectionSpace().length <= 32);
  });

  it("the Logger never shows a password, token, Digest response or URL credentials", async () => {
    const v = new DigestVerifier({ users: { alice: "digest-secret-1" }, algorithms: ["SHA-256"] });
    const srv = await startServer((req, res, body) => {
      if (req.url?.startsWith("/digest")) {
        const r = v.check(req, body);
        res.writeHead(r.ok ? 200 : 401, r.ok ? {} : { "WWW-Authenticate": v.challenges() });
      } else if (req.url?.startsWith("/basic")) {
        const ok = req.headers.authorization === basic("bob", "basic-secret-2");
        res.writeHead(ok ? 200 : 401, ok ? {} : { "WWW-Authenticate": `Basic realm="b"` });
      } else {
        const ok = req.headers.authorization === "Bearer bearer-secret-3";
        res.writeHead(ok ? 200 : 401, ok ? {} : { "WWW-Authenticate": `Bearer realm="t"` });
      }
      res.end("{}");
    });
    cleanups.push(() => srv.close());
    const lines: string[] = [];
    const s = new Session({
      proxyResolver: null,
      features: [new Logger({ level: LoggerLogLevel.BODY, printer: (_l, d, line) => lines.push(`${d} ${line}`) })],
    });
    cleanups.push(() => s.close());
    s.on("authenticate", (req) => {
      if (req.scheme === "Digest") req.authenticate("alice", "digest-secret-1");
      else if (req.scheme === "Basic") req.authenticate("bob", "basic-secret-2");
      else req.authenticate("", "bearer-secret-3");
    });
    for (const path of ["/digest/1", "/digest/2", "/basic/1", "/bearer/1"]) {
      const msg = new Message("GET", `${srv.url}${path}`);
      await s.sendAndRead(msg);
      assert.equal(msg.status, 200, path);
    }
    const withUrlCreds = new Message("GET", srv.url.replace("http://", "http://bob:basic-secret-2@") + "/basic/2");
    await s.sendAndRead(withUrlCreds);
    const log = lines.join("\n");
    assert.ok(log.includes("Authorization: Digest [REDACTED]"), "the log did show the request headers");
    const secrets = ["digest-secret-1", "basic-secret-2", "bearer-secret-3", Buffer.from("bob:basic-secret-2").toString("base64")];
    for (const p of v.accepted) secrets.push(p.response, p.cnonce);
    for (const secret of secrets) assert.ok(!log.includes(secret), `log leaked ${secret.slice(0, 4)}…`);
  });
});

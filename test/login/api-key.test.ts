/** The API-key profile (astrometry.net style) against a local server that speaks its API. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Logger, LoggerLogLevel } from "../../src/features/logger.js";
import { ApiKeyError, ApiKeySession, LoginFailedError, RateLimitedError, resolveApiKey, ServiceError } from "../../src/login/index.js";
import { API_KEY, FakeAstrometry } from "./helpers/astrometry-server.js";

describe("api key: where the key comes from", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sk-login-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("argument (trimmed), then the key file, then the environment variable", () => {
    const file = join(dir, "key");
    writeFileSync(file, "  from-file\n");
    const env = { MY_KEY: " from-env " };
    assert.deepEqual(resolveApiKey({ apiKey: "  from-arg\n", keyLocation: file, envVar: "MY_KEY", env }), { key: "from-arg", source: "argument" });
    assert.deepEqual(resolveApiKey({ apiKey: "   ", keyLocation: file, envVar: "MY_KEY", env }), { key: "from-file", source: "file" });
    assert.deepEqual(resolveApiKey({ keyLocation: join(dir, "missing"), envVar: "MY_KEY", env }), { key: "from-env", source: "environment" });
  });

  it("with none, ApiKeyError (API_KEY_MISSING) names all three places and no key", () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n");
    const saved = process.env.ASTROMETRY_API_KEY;
    delete process.env.ASTROMETRY_API_KEY;
    try {
      assert.throws(
        () => new ApiKeySession({ keyLocation: empty }),
        (e: unknown) => {
          assert.ok(e instanceof ApiKeyError);
          assert.equal(e.code, "API_KEY_MISSING");
          assert.match(e.message, /apiKey/);
          assert.ok(e.message.includes(empty), "names the key file");
          assert.match(e.message, /ASTROMETRY_API_KEY/);
          return true;
        },
      );
      assert.throws(
        () => new ApiKeySession(),
        (e: unknown) => e instanceof ApiKeyError && /keyLocation/.test(e.message) && /ASTROMETRY_API_KEY/.test(e.message),
      );
    } finally {
      if (saved !== undefined) process.env.ASTROMETRY_API_KEY = saved;
    }
  });

  it("reads ASTROMETRY_API_KEY by default", async () => {
    const saved = process.env.ASTROMETRY_API_KEY;
    process.env.ASTROMETRY_API_KEY = "env-key-123";
    try {
      const s = new ApiKeySession({ apiUrl: "http://127.0.0.1:9/api/" });
      assert.equal(s.keySource, "environment");
      assert.ok(!inspect(s).includes("env-key-123") && !String(s).includes("env-key-123"));
      await s.close();
    } finally {
      if (saved === undefined) delete process.env.ASTROMETRY_API_KEY;
      else process.env.ASTROMETRY_API_KEY = saved;
    }
  });
});

describe("api key: sessions", () => {
  let api: FakeAstrometry;
  let s: ApiKeySession;
  beforeEach(async () => {
    api = await new FakeAstrometry().start();
    s = new ApiKeySession({ apiKey: API_KEY, apiUrl: api.url, sessionOptions: { proxyResolver: null } });
  });
  afterEach(async () => {
    await s.close();
    await api.close();
  });

  it("does not log in at construction; logs in lazily right before the first request and sends the key along", async () => {
    assert.equal(s.loggedIn, false);
    assert.equal(s.key, null);
    assert.equal(api.loginAttempts, 0);
    const answer = await s.call<{ status: string; echo: Record<string, unknown> }>("jobs", { job: 7 });
    assert.equal(answer.status, "success");
    assert.equal(api.logins, 1);
    assert.equal(s.loggedIn, true);
    assert.ok(s.key !== null && api.sessions.has(s.key));
    assert.deepEqual(api.received[0], { job: 7, session: s.key });
    await s.call("jobs", { job: 8 });
    assert.equal(api.logins, 1);
  });

  it("login() sends a request only when needed or forced", async () => {
    await s.login();
    await s.login();
    assert.equal(api.loginAttempts, 1);
    const first = s.key;
    await s.login({ force: true });
    assert.equal(api.loginAttempts, 2);
    assert.notEqual(s.key, first);
  });

  it("many concurrent first requests share one login", async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => s.call("jobs", { i })));
    assert.equal(answers.length, 100);
    assert.equal(api.loginAttempts, 1);
  });

  it("when the server says the session is invalid: forced login, one retry, success", async () => {
    await s.login();
    const old = s.key;
    api.invalidateSessions();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => s.call<{ echo: { i: number; session: string } }>("jobs", { i })));
    assert.equal(api.loginAttempts, 2, "one re-login for all of them");
    assert.notEqual(s.key, old);
    assert.ok(answers.every((a, i) => a.echo.i === i && a.echo.session === s.key));
  });

  it("a server that never accepts the session gets one retry, then a ServiceError without the key", async () => {
    api.rejectAllSessions = true;
    await assert.rejects(s.call("jobs", {}), (e: unknown) => {
      assert.ok(e instanceof ServiceError);
      assert.equal(e.code, "SERVICE_ERROR");
      assert.match(e.message, /no session with key/);
      assert.ok(!e.message.includes(s.key!), e.message);
      return true;
    });
    assert.equal(api.requests, 2);
    assert.equal(api.loginAttempts, 2, "initial lazy login + one forced re-login");
  });

  it("a bad key gives LoginFailedError (LOGIN_FAILED) without the key, and is not retried automatically", async () => {
    const bad = new ApiKeySession({ apiKey: "wrong-key-value", apiUrl: api.url, sessionOptions: { proxyResolver: null } });
    try {
      await assert.rejects(
        bad.call("jobs"),
        (e: unknown) => e instanceof LoginFailedError && e.code === "LOGIN_FAILED" && !e.message.includes("wrong-key-value"),
      );
      assert.equal(api.loginAttempts, 1);
      // The same key would be refused again: no automatic login until the application asks.
      for (let i = 0; i < 10; i++) await assert.rejects(bad.call("jobs"), LoginFailedError);
      assert.equal(api.loginAttempts, 1);
      await assert.rejects(bad.login(), LoginFailedError);
      assert.equal(api.loginAttempts, 2, "an explicit login() is always sent");
      assert.equal(bad.loggedIn, false);
      assert.equal(api.requests, 0);
    } finally {
      await bad.close();
    }
  });

  it("exports a sessionkit string that a new session imports without logging in", async () => {
    await s.login();
    const str = s.exportSessionString();
    assert.match(str, /^sessionkit:1:/);
    const other = new ApiKeySession({ apiKey: API_KEY, apiUrl: api.url, sessionOptions: { proxyResolver: null } });
    try {
      await other.login({ sessionString: str });
      assert.equal(other.key, s.key);
      await other.call("jobs");
      assert.equal(api.loginAttempts, 1);
    } finally {
      await other.close();
    }
  });

  it("a key given to login() is also the one a later forced re-login uses", async () => {
    const other = new ApiKeySession({ apiKey: "not-the-key", apiUrl: api.url, sessionOptions: { proxyResolver: null } });
    try {
      await other.login({ apiKey: `  ${API_KEY}\n`, force: true });
      assert.equal(api.logins, 1);
      api.invalidateSessions();
      await other.call("jobs");
      assert.equal(api.loginAttempts, 2);
      assert.equal(api.logins, 2, "the re-login used the key that logged in, not the one from construction");
    } finally {
      await other.close();
    }
  });

  it("service errors that quote the API key do not repeat it", async () => {
    await s.login();
    api.errorMessage = `key ${API_KEY} may not do that`;
    await assert.rejects(
      s.call("jobs"),
      (e: unknown) => e instanceof ServiceError && !e.message.includes(API_KEY) && /may not do that/.test(e.message),
    );
  });

  it("a rate-limited login (429 with RateLimit-* headers) gives RateLimitedError with the wait, and no retry before it", async () => {
    api.loginLimited = true;
    await assert.rejects(s.call("jobs"), (e: unknown) => e instanceof RateLimitedError && e.code === "RATE_LIMITED" && e.retryAfterMs === 42_000);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(s.call("jobs"), (e: unknown) => e instanceof RateLimitedError && e.retryAfterMs > 0 && e.retryAfterMs <= 42_000);
    }
    await assert.rejects(s.login({ force: true }), RateLimitedError);
    assert.equal(api.loginAttempts, 1, "the login endpoint was asked once");
    assert.equal(api.requests, 0);
  });

  it("the Logger never prints the API key or the session key", async () => {
    const lines: string[] = [];
    s.http.addFeature(new Logger({ level: LoggerLogLevel.BODY, printer: (_l, d, line) => lines.push(`${d} ${line}`) }));
    await s.call("jobs", { x: 1 });
    api.invalidateSessions();
    await s.call("jobs", { x: 2 });
    assert.ok(lines.length > 0);
    const text = lines.join("\n") + inspect(s) + String(s);
    assert.ok(!text.includes(API_KEY) && !text.includes(s.key!), text);
  });
});

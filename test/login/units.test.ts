/** Pure parts of sessionkit/login: JWT claims, refresh schedule, rate-limit headers, session strings. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MessageHeaders } from "../../src/http/headers.js";
import {
  decodeJwtClaims,
  decodeSessionString,
  encodeSessionString,
  formatAtprotoSessionString,
  InvalidSessionStringError,
  jwtExpiresAt,
  LoginGate,
  parseAtprotoSessionString,
  parseRetryAfter,
  pdsFromDidDoc,
  RateLimitedError,
  readRateLimit,
  refreshSchedule,
} from "../../src/login/index.js";
import { SessionKitError } from "../../src/errors.js";
import { safeServerText } from "../../src/login/errors.js";
import { signJwt } from "./helpers/pds-server.js";

describe("login: JWT claims", () => {
  it("reads exp and iat without verifying", () => {
    const t = signJwt({ exp: 2_000_000_000, iat: 1_999_990_000, sub: "did:plc:x" });
    assert.equal(decodeJwtClaims(t)?.sub, "did:plc:x");
    assert.equal(jwtExpiresAt(t), 2_000_000_000_000);
  });
  it("returns null for anything malformed, never throws", () => {
    for (const bad of ["", "a.b", "a..c", "x.!!!.y", `a.${Buffer.from("[1]").toString("base64url")}.c`, "a.b.c".repeat(10_000)]) {
      assert.equal(decodeJwtClaims(bad), null, bad.slice(0, 20));
    }
    assert.equal(jwtExpiresAt(signJwt({ exp: "soon" })), null);
  });
});

describe("login: refresh schedule", () => {
  const base = { refreshToken: null, marginMs: 60_000, skewMs: 30_000 };
  const now = 1_800_000_000_000;
  it("refreshes `margin` before exp for a long-lived token", () => {
    const access = signJwt({ iat: now / 1000, exp: now / 1000 + 7200 });
    const s = refreshSchedule({ ...base, accessToken: access, fresh: true, now });
    assert.equal(s.accessRefreshAt, now + 7200_000 - 60_000);
  });
  it("never earlier than half the lifetime, so short tokens do not refresh on every request", () => {
    const access = signJwt({ iat: now / 1000, exp: now / 1000 + 10 });
    const s = refreshSchedule({ ...base, accessToken: access, fresh: true, now });
    assert.equal(s.accessRefreshAt, now + 5000);
  });
  it("moves exp onto our clock when the server's clock is off by more than the skew", () => {
    // Server clock one hour behind ours: the token looks one hour older than it is.
    const serverNow = now / 1000 - 3600;
    const access = signJwt({ iat: serverNow, exp: serverNow + 7200 });
    const s = refreshSchedule({ ...base, accessToken: access, fresh: true, now });
    assert.equal(s.accessRefreshAt, now + 7200_000 - 60_000);
    // Imported tokens are taken at face value (iat may be long ago for real).
    const imported = refreshSchedule({ ...base, accessToken: access, fresh: false, now });
    assert.equal(imported.accessRefreshAt, (serverNow + 7200) * 1000 - Math.min(60_000, Math.max(0, ((serverNow + 7200) * 1000 - now) / 2)));
  });
  it("an imported expired token is due now; a freshly issued expired one is left to the server", () => {
    const access = signJwt({ iat: now / 1000 - 100, exp: now / 1000 - 10 });
    assert.ok(refreshSchedule({ ...base, accessToken: access, fresh: false, now }).accessRefreshAt <= now);
    const weird = signJwt({ exp: now / 1000 - 10 });
    assert.equal(refreshSchedule({ ...base, accessToken: weird, fresh: true, now }).accessRefreshAt, Number.POSITIVE_INFINITY);
  });
  it("a refresh token is dead only `skew` after its exp; non-JWT tokens give no schedule", () => {
    const refresh = signJwt({ exp: now / 1000 + 100 });
    const s = refreshSchedule({ ...base, accessToken: "opaque", refreshToken: refresh, fresh: false, now });
    assert.equal(s.refreshDeadAt, now + 100_000 + 30_000);
    assert.equal(s.accessRefreshAt, Number.POSITIVE_INFINITY);
  });
});

describe("login: rate-limit headers", () => {
  const now = 1_800_000_000_000;
  it("parses Retry-After as seconds or an HTTP date", () => {
    assert.equal(parseRetryAfter("30", now), 30_000);
    assert.equal(parseRetryAfter(new Date(now + 90_000).toUTCString(), now), 90_000);
    assert.equal(parseRetryAfter("soon", now), null);
    assert.equal(parseRetryAfter("99999999999", now), 24 * 3600 * 1000, "capped at a day");
  });
  it("reads ratelimit-reset as epoch seconds (atproto) or delta seconds (IETF)", () => {
    const h = new MessageHeaders({ "ratelimit-remaining": "0", "ratelimit-reset": String(now / 1000 + 300) });
    assert.deepEqual(readRateLimit(h, now), { remaining: 0, waitMs: 300_000 });
    const d = new MessageHeaders({ "RateLimit-Remaining": "3", "RateLimit-Reset": "45" });
    assert.deepEqual(readRateLimit(d, now), { remaining: 3, waitMs: 45_000 });
  });
  it("reads the structured RateLimit field of both drafts", () => {
    assert.deepEqual(readRateLimit(new MessageHeaders({ RateLimit: "limit=10, remaining=0, reset=12" }), now), { remaining: 0, waitMs: 12_000 });
    assert.deepEqual(readRateLimit(new MessageHeaders({ RateLimit: '"default";r=0;t=7' }), now), { remaining: 0, waitMs: 7_000 });
  });
  it("a LoginGate refuses attempts until the wait is over", () => {
    const gate = new LoginGate({ defaultWaitMs: 5000 });
    const err = gate.observe(429, new MessageHeaders({ "Retry-After": "20" }), "login", now);
    assert.ok(err instanceof RateLimitedError);
    assert.equal(err.retryAfterMs, 20_000);
    assert.throws(
      () => gate.check("login", now + 19_000),
      (e: unknown) => e instanceof RateLimitedError && e.code === "RATE_LIMITED" && e.retryAfterMs === 1000,
    );
    gate.check("login", now + 20_000);
    // A 429 without any header still waits (the default), never zero.
    const g2 = new LoginGate({ defaultWaitMs: 5000 });
    assert.equal(g2.observe(429, new MessageHeaders(), "login", now)?.retryAfterMs, 5000);
    assert.throws(() => g2.check("login", now + 1));
    // A success that used the last allowance blocks the next attempt until the reset.
    const g3 = new LoginGate();
    assert.equal(g3.observe(200, new MessageHeaders({ "ratelimit-remaining": "0", "ratelimit-reset": "60" }), "login", now), null);
    assert.throws(() => g3.check("login", now + 1000), RateLimitedError);
  });
});

describe("login: session strings", () => {
  it("sessionkit strings are versioned, self-describing and checked", () => {
    const s = encodeSessionString("apikey", { key: "k1" });
    assert.match(s, /^sessionkit:1:[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodeSessionString(s, "apikey"), { key: "k1" });
    const code = (fn: () => unknown) =>
      assert.throws(
        fn,
        (e: unknown) =>
          e instanceof SessionKitError && (e as InvalidSessionStringError).code === "INVALID_SESSION_STRING" && !(e as Error).message.includes("k1"),
      );
    code(() => decodeSessionString(s, "atproto"));
    code(() => decodeSessionString(s.replace("sessionkit:1:", "sessionkit:2:"), "apikey"));
    code(() => decodeSessionString("sessionkit:1:%%%", "apikey"));
    code(() => decodeSessionString(`sessionkit:1:${Buffer.from("[]").toString("base64url")}`, "apikey"));
    code(() => decodeSessionString("x".repeat(100_000), "apikey"));
  });
  const access = signJwt({ exp: 2_000_000_000 });
  const refresh = signJwt({ exp: 2_100_000_000 });
  it("reads the atproto Python SDK's five- and four-field strings", () => {
    const five = parseAtprotoSessionString(`alice.test:::did:plc:abc:::${access}:::${refresh}:::https://pds.example.com`);
    assert.equal(five?.pdsEndpoint, "https://pds.example.com");
    assert.equal(five?.did, "did:plc:abc");
    const four = parseAtprotoSessionString(`alice.test:::did:plc:abc:::${access}:::${refresh}`);
    assert.equal(four?.pdsEndpoint, "https://bsky.social");
    assert.equal(formatAtprotoSessionString(five!), `alice.test:::did:plc:abc:::${access}:::${refresh}:::https://pds.example.com`);
    assert.equal(parseAtprotoSessionString("not one"), null);
    assert.throws(() => parseAtprotoSessionString(`a:::did:plc:x:::bad token:::${refresh}`), InvalidSessionStringError);
    assert.throws(() => parseAtprotoSessionString(`a:::did:plc:x:::${access}:::${refresh}:::ftp://x`), InvalidSessionStringError);
  });
  it("takes the PDS from the DID document's #atproto_pds service only", () => {
    assert.equal(
      pdsFromDidDoc({ service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: "https://x.host.bsky.network/" }] }),
      "https://x.host.bsky.network",
    );
    assert.equal(pdsFromDidDoc({ service: [{ id: "#other", type: "AtprotoPersonalDataServer", serviceEndpoint: "https://evil" }] }), null);
    assert.equal(
      pdsFromDidDoc({ service: [{ id: "#atproto_pds", type: "AtprotoPersonalDataServer", serviceEndpoint: "javascript:alert(1)" }] }),
      null,
    );
    assert.equal(pdsFromDidDoc(null), null);
    // The long id form names the document's own DID; another DID's entry is not ours.
    const doc = (id: string) => ({
      id: "did:plc:abc",
      service: [{ id, type: "AtprotoPersonalDataServer", serviceEndpoint: "https://pds.example.com" }],
    });
    assert.equal(pdsFromDidDoc(doc("did:plc:abc#atproto_pds"), "did:plc:abc"), "https://pds.example.com");
    assert.equal(pdsFromDidDoc(doc("did:plc:evil#atproto_pds"), "did:plc:abc"), null);
    assert.equal(pdsFromDidDoc(doc("#atproto_pds"), "did:plc:other"), null, "a document about another DID is ignored");
    assert.equal(pdsFromDidDoc({ service: [{ id: "#atproto_pds", type: "Other", serviceEndpoint: "https://x" }] }), null);
  });
  it("server text quoted in errors loses anything secret-looking", () => {
    const jwt = signJwt({ exp: 1 });
    const out = safeServerText(`bad token ${jwt} and password=hunter2 key "0123456789abcdef0123456789abcdef"`);
    assert.ok(!out.includes(jwt) && !out.includes("hunter2") && !out.includes("0123456789abcdef0123456789abcdef"), out);
  });
});

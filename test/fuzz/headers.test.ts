/**
 * Fuzz: the header parsers of the HTTP client features and the login rate limits. None of
 * them has a typed error of its own: each returns a value (or null) for any string, so the
 * property is "returns, without throwing, in bounded time", plus a few invariants.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { decodeExtValue, parseAuthParams, parseChallengeHeaders, parseChallenges } from "../../src/features/auth/challenge-parser.js";
import { MAX_DELTA_SECONDS, parseAge, parseCacheControl, parseHttpDate } from "../../src/features/cache/cache-control.js";
import { parseStsHeader, MAX_STS_AGE } from "../../src/features/hsts/sts-header.js";
import { redactBody, redactHeaderValue } from "../../src/features/logger.js";
import { extractMimeType, parseMimeType, serializeMimeType, splitHeaderValues } from "../../src/features/sniffer/mime-type.js";
import { MessageHeaders } from "../../src/http/headers.js";
import { redactQuery, redactUrl } from "../../src/http/redact.js";
import { parseRetryAfter, readRateLimit } from "../../src/login/rate-limit.js";
import { anyHeader } from "./arbitraries.js";
import { fuzz, summary } from "./harness.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("fuzz: header parsers", () => {
  after(() => console.log(summary()));

  it("WWW-Authenticate challenges and Authentication-Info", () => {
    fuzz("auth challenge", fc.array(anyHeader, { minLength: 1, maxLength: 3 }), (values) => {
      const all = parseChallengeHeaders(values);
      assert.ok(all.length <= 32);
      for (const c of [...all, ...parseChallenges(values[0])]) {
        assert.equal(typeof c.scheme, "string");
        assert.ok(c.scheme.length > 0);
        for (const v of Object.values(c.params)) assert.equal(typeof v, "string");
      }
      parseAuthParams(values[0]);
      const ext = decodeExtValue(values[0]);
      assert.ok(ext === null || typeof ext === "string");
    });
  });

  it("Cache-Control, Age and HTTP dates", () => {
    fuzz("cache-control + http-date", anyHeader, (v) => {
      const cc = parseCacheControl(v);
      for (const k of ["maxAge", "sMaxAge", "minFresh", "maxStale", "staleWhileRevalidate", "staleIfError"] as const) {
        const n = cc[k];
        assert.ok(n === undefined || (Number.isInteger(n) && n >= 0 && n <= MAX_DELTA_SECONDS), `${k}=${n}`);
      }
      const d = parseHttpDate(v);
      assert.ok(d === null || Number.isFinite(d));
      const age = parseAge(v);
      assert.ok(Number.isInteger(age) && age >= 0 && age <= MAX_DELTA_SECONDS, `Age ${age}`);
    });
  });

  it("Strict-Transport-Security", () => {
    fuzz("sts", anyHeader, (v) => {
      const sts = parseStsHeader(v);
      assert.ok(sts === null || (Number.isInteger(sts.maxAge) && sts.maxAge >= 0 && sts.maxAge <= MAX_STS_AGE));
    });
  });

  it("MIME types (Content-Type): parse, extract, and serialize round-trips", () => {
    fuzz("mime", anyHeader, (v) => {
      splitHeaderValues(v);
      extractMimeType(v);
      const t = parseMimeType(v);
      if (t !== null) {
        const again = parseMimeType(serializeMimeType(t));
        assert.ok(again !== null, "a serialized type parses again");
        assert.equal(again.essence, t.essence);
        assert.deepEqual({ ...again.params }, { ...t.params });
      }
    });
  });

  it("rate-limit headers: waits are bounded (0 .. 1 day) or absent", () => {
    fuzz("rate-limit", fc.tuple(anyHeader, anyHeader, anyHeader, anyHeader), ([retry, rem, reset, structured]) => {
      const w = parseRetryAfter(retry, 1_700_000_000_000);
      assert.ok(w === null || (w >= 0 && w <= DAY_MS));
      const h = new MessageHeaders();
      for (const [k, v] of [
        ["Retry-After", retry],
        ["RateLimit-Remaining", rem],
        ["RateLimit-Reset", reset],
        ["RateLimit", structured],
      ] as const) {
        try {
          h.set(k, v);
        } catch {
          /* not a valid header value: the network could not deliver it either */
        }
      }
      const info = readRateLimit(h, 1_700_000_000_000);
      assert.ok(info.waitMs === null || (info.waitMs >= 0 && info.waitMs <= DAY_MS));
      assert.ok(info.remaining === null || info.remaining >= 0, `remaining=${info.remaining}`);
    });
  });

  it("Logger and URL redaction never throw and never print a bearer token", () => {
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/);
    fuzz("redaction", fc.tuple(anyHeader, token, anyHeader), ([v, secret, other]) => {
      const auth = redactHeaderValue("Authorization", `${v.slice(0, 8).replace(/\s/g, "")}x ${secret}`);
      assert.ok(!auth.includes(secret), auth);
      for (const name of ["Cookie", "Set-Cookie", "Authentication-Info", "X-Api-Key", "X-Other"]) redactHeaderValue(name, v);
      assert.ok(!redactHeaderValue("X-Api-Key", secret).includes(secret));
      redactBody(v, null);
      redactBody(v, "application/json");
      redactBody(v, "application/x-www-form-urlencoded");
      redactQuery(`?${v}`);
      const url = new URL("http://user:pw@example.com/p");
      url.search = v;
      url.searchParams.append("access_token", secret);
      url.hash = other;
      const shown = redactUrl(url);
      assert.ok(!shown.includes(secret) && !shown.includes(":pw@"), shown);
    });
  });
});

/**
 * Every header (and header-like) parser that reads what a peer sends, each with a benign
 * input and adversarial inputs of a given size: long runs of whitespace, separators,
 * escapes and token characters that are NOT at the end, the shapes that make a
 * backtracking regular expression or a rescanning loop quadratic (issue 12, item 3).
 * Shared by test/security/linear-parsers.test.ts and bench/reliability.ts.
 */
import { parseAuthParams, parseChallenges, decodeExtValue } from "../../src/features/auth/challenge-parser.js";
import { parseAge, parseCacheControl, parseHttpDate } from "../../src/features/cache/cache-control.js";
import { normalizeFieldValue, varyNames } from "../../src/features/cache/policy.js";
import { CookieJar } from "../../src/features/cookies/cookie-jar.js";
import { parseStsHeader } from "../../src/features/hsts/sts-header.js";
import { redactBody, redactHeaderValue, redactQuery } from "../../src/features/logger.js";
import { extractMimeType, parseMimeType, splitHeaderValues } from "../../src/features/sniffer/mime-type.js";
import { MessageHeaders } from "../../src/http/headers.js";
import { normalizeEndpoint, parseAtprotoSessionString } from "../../src/login/atproto-profile.js";
import { decodeJwtClaims } from "../../src/login/jwt.js";
import { parseRetryAfter, readRateLimit } from "../../src/login/rate-limit.js";
import { decodeSessionString } from "../../src/login/session-string.js";
import { readCookieValues } from "../../src/server/cookie.js";

export interface ParserCase {
  name: string;
  /** Runs the parser on `input`; a typed failure is caught by the caller's `run` wrapper. */
  run: (input: string) => unknown;
  /** A realistic input of about `size` characters. */
  benign: (size: number) => string;
  /** Hostile inputs of about `size` characters. */
  adversarial: Array<(size: number) => string>;
  /** The parser refuses longer inputs up front: adversarial inputs are also tried just under it. */
  cap?: number;
}

/** `unit` repeated to fill `size` characters. */
export function fill(unit: string, size: number): string {
  return unit.repeat(Math.max(1, Math.floor(size / unit.length)));
}

const WS = (n: number) => " \t".repeat(Math.floor(n / 2));

const jar = new CookieJar();
const JAR_URL = new URL("https://www.example.com/a/b");

/** Swallows the parser's own failure: only the time matters here (the fuzz suite checks types). */
function quietly(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    return err;
  }
}

export const PARSER_CASES: ParserCase[] = [
  {
    name: "parseMimeType (sniffer)",
    run: parseMimeType,
    benign: (n) => `text/html${fill(";charset=utf-8", n - 9)}`,
    adversarial: [
      (n) => `text/html${" ".repeat(n)}x`,
      (n) => `text/html;a=b${WS(n)}x`,
      (n) => `text/html;a="${fill("\\a", n)}`,
      (n) => `text/html${fill(";", n)}`,
      (n) => `a/b;${fill("=", n)}`,
      (n) => `${WS(n / 2)}text/html${WS(n / 2)};`,
    ],
  },
  {
    name: "extractMimeType / splitHeaderValues (Content-Type list)",
    run: (v) => [extractMimeType(v), splitHeaderValues(v)],
    benign: (n) => fill("text/html, ", n),
    adversarial: [
      (n) => `text/html${" ".repeat(n)}x,a/b`,
      (n) => `a${"\t".repeat(n)}b`,
      (n) => fill(",", n),
      (n) => `"${fill("\\,", n)}`,
      (n) => fill('a/b;c="d\\",', n),
    ],
  },
  {
    name: "parseChallenges (WWW-Authenticate)",
    run: (v) => parseChallenges(v),
    benign: (n) => fill('Digest realm="r", nonce="abc", qop="auth", ', n),
    adversarial: [
      (n) => `Basic ${fill(", ", n)}`,
      (n) => `Digest realm="${fill('\\"', n)}`,
      (n) => fill("a", n),
      (n) => `Bearer ${fill("=", n)}`,
      (n) => `Basic${" ".repeat(n)}x`,
      (n) => `x ${fill("a", n)}=`,
      (n) => fill("a b=", n),
      (n) => `Digest ${fill("a=b ", n)}`,
    ],
    cap: 16 * 1024,
  },
  {
    name: "parseAuthParams (Authentication-Info)",
    run: parseAuthParams,
    benign: (n) => fill('nextnonce="abc", qop=auth, ', n),
    adversarial: [(n) => fill(",", n), (n) => `a="${fill("\\a", n)}`, (n) => fill("a=", n), (n) => `a${" ".repeat(n)}=`],
    cap: 16 * 1024,
  },
  {
    name: "decodeExtValue (RFC 8187 ext-value)",
    run: decodeExtValue,
    benign: (n) => `UTF-8''${fill("%41b", n)}`,
    adversarial: [(n) => fill("a", n), (n) => `UTF-8''${fill("%4", n)}`, (n) => `${fill("a", n)}'`, (n) => `UTF-8'${fill("a", n)}`],
  },
  {
    name: "parseCacheControl",
    run: parseCacheControl,
    benign: (n) => fill("max-age=60, public, ", n),
    adversarial: [
      (n) => `max-age=${fill("1", n)}x`,
      (n) => fill(",", n),
      (n) => `no-cache="${fill("a,", n)}"`,
      (n) => `${" ".repeat(n)}x`,
      (n) => `a="${fill("\\", n)}`,
      (n) => `private="${fill(" ,", n)}`,
    ],
    cap: 16 * 1024,
  },
  {
    name: "parseAge (Age)",
    run: parseAge,
    benign: (n) => `${" ".repeat(n - 6)}7200, 0`,
    adversarial: [(n) => `${fill("1", n)}x`, (n) => `${" ".repeat(n)}1${" ".repeat(n)}x`, (n) => fill(",", n), (n) => `${fill("1", n)}.0`],
  },
  {
    name: "parseHttpDate (Date, Expires, Last-Modified)",
    run: parseHttpDate,
    benign: (n) => `${" ".repeat(n - 30)}Sun, 06 Nov 1994 08:49:37 GMT`,
    adversarial: [(n) => `${" ".repeat(n)}x${" ".repeat(n)}`, (n) => `Sun, ${fill("1", n)}`, (n) => fill("a", n)],
  },
  {
    name: "normalizeFieldValue / varyNames (cache keys)",
    run: (v) => [normalizeFieldValue(v), varyNames(new MessageHeaders({ Vary: v }))],
    benign: (n) => fill("Accept, a, ", n),
    adversarial: [(n) => `${WS(n)}x`, (n) => fill(",", n), (n) => fill(" ,a", n)],
  },
  {
    name: "parseStsHeader (Strict-Transport-Security)",
    run: parseStsHeader,
    benign: (n) => `max-age=31536000${fill("; includeSubDomains", n)}`,
    adversarial: [(n) => fill(";", n), (n) => `a="${fill("\\a", n)}"`, (n) => `max-age=${fill("1", n)}`, (n) => `${" ".repeat(n)}x`],
    cap: 4096,
  },
  {
    name: "parseRetryAfter (Retry-After)",
    run: (v) => parseRetryAfter(v, 0),
    benign: (n) => `${" ".repeat(n - 2)}30`,
    adversarial: [(n) => `${fill("1", n)}x`, (n) => `1.${fill("1", n)}x`, (n) => `${" ".repeat(n)}1${" ".repeat(n)}x`],
  },
  {
    name: "readRateLimit (RateLimit-*, X-RateLimit-*, RateLimit)",
    run: (v) => readRateLimit(new MessageHeaders({ "RateLimit-Remaining": v, "RateLimit-Reset": v, RateLimit: v, "Retry-After": v }), 0),
    benign: (n) => `limit=10, remaining=0, reset=30${" ".repeat(n - 31)}`,
    adversarial: [(n) => ` ${" ".repeat(n)}1${" ".repeat(n)}x`, (n) => fill("r", n), (n) => fill(";r", n), (n) => `${fill("1", n)}.`],
  },
  {
    name: "decodeJwtClaims (access and refresh JWTs)",
    run: decodeJwtClaims,
    benign: (n) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp: 1, pad: "x".repeat(n) })).toString("base64url")}.sig`,
    adversarial: [(n) => fill(".", n), (n) => `a.${fill("A", n)}.b`, (n) => `a.${Buffer.from(fill("[", n)).toString("base64url")}.b`],
    cap: 16 * 1024,
  },
  {
    name: "decodeSessionString (sessionkit:1:)",
    run: (v) => quietly(() => decodeSessionString(v, "atproto")),
    benign: (n) => `sessionkit:1:${Buffer.from(JSON.stringify({ p: "atproto", s: { pad: "x".repeat(n) } })).toString("base64url")}`,
    adversarial: [
      (n) => `sessionkit:1:${fill("A", n)}`,
      (n) => `sessionkit:${fill("1", n)}`,
      (n) => `sessionkit:1:${Buffer.from(fill("[", n)).toString("base64url")}`,
    ],
    cap: 64 * 1024,
  },
  {
    name: "parseAtprotoSessionString (handle:::did:::…)",
    run: (v) => quietly(() => parseAtprotoSessionString(v)),
    benign: (n) => `alice.test:::did:plc:abc:::${fill("a", n / 2)}.b.c:::${fill("a", n / 2)}.b.c:::https://pds.example`,
    adversarial: [(n) => fill(":::", n), (n) => `a:::did:plc:${fill(":", n)}:::a:::b`, (n) => `a:::did:plc:a:::b:::c:::https://x${fill("/", n)}x`],
  },
  {
    name: "normalizeEndpoint (PDS endpoints)",
    run: (v) => quietly(() => normalizeEndpoint(v)),
    benign: () => "https://pds.example.com/some/path/",
    adversarial: [() => `https://pds.example/${"/".repeat(2000)}x`, () => `https://pds.example/${"/".repeat(2000)}`],
  },
  {
    name: "CookieJar.setCookie (Set-Cookie through tough-cookie and the jar's guards)",
    run: (v) => jar.setCookie(JAR_URL, v).catch((e: unknown) => e),
    benign: (n) => `sid=${fill("a", Math.min(n, 4000))}; Path=/; Secure; HttpOnly`,
    adversarial: [
      (n) => `a=b${fill(";", n)}`,
      (n) => `a=${" ".repeat(n)}x`,
      (n) => `a=b; Domain=${".".repeat(n)}example.com`,
      (n) => `a=b; Path=${"/".repeat(n)}x`,
      (n) => `a=b; Expires=${" ".repeat(n)}x`,
      (n) => `a=b; Max-Age=${fill("1", n)}x`,
      (n) => `a=b;${fill(" =", n)}`,
    ],
    cap: 8192,
  },
  {
    name: "readCookieValues (server Cookie header)",
    run: (v) => readCookieValues(v, "sid"),
    benign: (n) => fill("a=b; ", n),
    adversarial: [(n) => fill(";", n), (n) => `sid=${" ".repeat(n)}x`, (n) => fill("sid", n), (n) => fill("=", n), (n) => fill(" ;", n)],
  },
  {
    name: "Logger redaction (headers, query, bodies)",
    run: (v) => [
      redactHeaderValue("Authorization", v),
      redactHeaderValue("Cookie", v),
      redactHeaderValue("Set-Cookie", v),
      redactHeaderValue("Authentication-Info", v),
      redactHeaderValue("X-Api-Key", v),
      redactQuery(`?${v}`),
      redactBody(v, null),
    ],
    benign: (n) => fill("page=2&sort=asc&", n),
    adversarial: [
      (n) => `${" ".repeat(n)}x`,
      (n) => fill("a", n),
      (n) => fill("token", n),
      (n) => `password${fill("a", n)}`,
      (n) => fill("a_", n),
      (n) => `a="${fill("\\a", n)}`,
      (n) => fill(";", n),
      (n) => fill("a=b ", n),
      (n) => fill("=&", n),
      (n) => `${fill("a&", n)}=b`,
      (n) => fill("{", n),
    ],
  },
];

/**
 * Input generators for the fuzz suite: plain random strings (including lone surrogates and
 * control characters), and strings assembled from the pieces parsers care about (quotes,
 * escapes, separators, keywords, numbers at the edges), which reach deep into a grammar
 * far more often than uniform noise does.
 */
import fc from "fast-check";

const HEADER_PIECES = [
  '"',
  "\\",
  ",",
  ";",
  "=",
  " ",
  "\t",
  "\r\n",
  "\n",
  "\0",
  "a",
  "Z",
  "0",
  "9",
  "/",
  "*",
  "'",
  "%",
  "%2",
  "%41",
  ".",
  ":",
  "é",
  "\ud800",
  "🍪",
  "max-age",
  "no-cache",
  "private",
  "immutable",
  "Basic",
  "Digest",
  "Bearer",
  "realm",
  "nonce",
  "qop",
  "charset",
  "text/html",
  "application/json",
  "UTF-8''",
  "GMT",
  "Sun, 06 Nov 1994 08:49:37 GMT",
  "Sunday, 06-Nov-94 08:49:37 GMT",
  "Sun Nov  6 08:49:37 1994",
  "includeSubDomains",
  "Domain=",
  "Path=",
  "Expires=",
  "Max-Age=",
  "SameSite=",
  "Secure",
  "HttpOnly",
  "remaining=",
  "reset=",
  "r=",
  "t=",
  "-1",
  "1e309",
  "7200.0",
  "2147483648",
  "99999999999999999999",
  "NaN",
];

/** A header-ish string: random noise or a sequence of grammar pieces. */
export const headerValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 120 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 60 }) },
  {
    weight: 4,
    arbitrary: fc.array(fc.oneof(fc.constantFrom(...HEADER_PIECES), fc.string({ maxLength: 4 })), { maxLength: 40 }).map((a) => a.join("")),
  },
);

/** Long runs of one piece (the shapes that make backtracking quadratic), up to a few KB. */
export const runs: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...HEADER_PIECES), fc.integer({ min: 1, max: 2000 }), headerValue)
  .map(([piece, n, tail]) => piece.repeat(n) + tail);

export const anyHeader = fc.oneof({ weight: 5, arbitrary: headerValue }, { weight: 1, arbitrary: runs });

/** base64url text of something: random bytes, a JSON value, or deep brackets. */
export const base64urlOf: fc.Arbitrary<string> = fc
  .oneof(
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? "null")),
    fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.from("[".repeat(n))),
  )
  .map((b) => b.toString("base64url"));

/** A JWT-shaped string: three segments, sometimes broken. */
export const jwtLike: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(base64urlOf, base64urlOf, base64urlOf).map((p) => p.join(".")),
  fc
    .tuple(fc.jsonValue({ maxDepth: 3 }), fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)))
    .map(([extra, exp]) => `eyJhbGciOiJIUzI1NiJ9.${Buffer.from(JSON.stringify({ exp, extra })).toString("base64url")}.sig`),
  anyHeader,
);

/** Realtime frame text: frame-shaped JSON with hostile field values, deep nesting, noise. */
const anyField = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom("%%%", "AAAA", "====", "QQ==", "", "m", "toString", "__proto__", 1.5, -1, 0, 2 ** 53, Number.MAX_SAFE_INTEGER + 2),
  fc.dictionary(fc.constantFrom("code", "message", "toString", "__proto__", "valueOf"), fc.jsonValue({ maxDepth: 2 })),
);
export const frameText: fc.Arbitrary<string> = fc.oneof(
  fc
    .record(
      {
        t: fc.oneof(fc.constantFrom("m", "q", "r", "a", "ping", "pong", "hello", "resume", "welcome", "resumed", "x"), anyField),
        s: anyField,
        c: anyField,
        a: anyField,
        p: fc.oneof(fc.constantFrom("a/b", "", "/", "a//b", "../x"), anyField),
        d: anyField,
        b: fc.oneof(base64urlOf, fc.base64String(), anyField),
        e: anyField,
        ts: anyField,
        v: anyField,
        id: anyField,
        token: anyField,
      },
      { requiredKeys: ["t"] },
    )
    .map((o) => JSON.stringify(o)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `{"t":"m","s":1,"p":"a","d":${"[".repeat(n)}${"]".repeat(n)}}`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `{"t":"m","s":1,"p":"a","d":${'{"a":'.repeat(n)}1${"}".repeat(n)}}`),
  anyHeader,
);

const FILTER_PIECES = [
  "(",
  ")",
  " and ",
  " or ",
  "not ",
  " is ",
  " eq ",
  " ne ",
  " in ",
  "has ",
  "all",
  "'",
  '"',
  "\\",
  "[",
  "]",
  ",",
  "$Principal",
  "Department",
  "x",
  " ",
  "'a'",
  '"b"',
];
export const filterText: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.oneof(fc.constantFrom(...FILTER_PIECES), fc.string({ maxLength: 3 })), { maxLength: 40 }).map((a) => a.join("")),
  fc.integer({ min: 1, max: 10_000 }).map((n) => `${"(".repeat(n)}all${")".repeat(n)}`),
  fc.integer({ min: 1, max: 8000 }).map((n) => `${"not ".repeat(n)}all`),
  anyHeader,
);

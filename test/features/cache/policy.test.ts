import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MessageHeaders } from "../../../src/index.js";
import { parseCacheControl, parseHttpDate, formatHttpDate } from "../../../src/features/cache/cache-control.js";
import {
  currentAge,
  freshnessLifetime,
  notStorableReason,
  serveDecision,
  updateHeadersFrom304,
  varyNames,
} from "../../../src/features/cache/policy.js";
import type { StoredResponse } from "../../../src/features/cache/storage.js";

const opts = { heuristicFraction: 0.1, heuristicMaxAge: 86_400 };
const T0 = Date.UTC(2026, 0, 10, 12, 0, 0);

function entry(headers: Record<string, string>, extra: Partial<StoredResponse> = {}): StoredResponse {
  return {
    key: "GET http://x/",
    variant: "",
    varyHeaders: {},
    status: 200,
    reasonPhrase: "OK",
    headers: Object.entries(headers).flat(),
    body: new Uint8Array(0),
    requestTime: T0,
    responseTime: T0,
    ...extra,
  };
}

describe("Cache-Control parsing", () => {
  it("reads directives, quoted values and case", () => {
    assert.deepEqual(parseCacheControl('Max-Age=60, no-cache="Set-Cookie, X-A", private, must-revalidate'), {
      maxAge: 60,
      noCache: ["set-cookie", "x-a"],
      private: true,
      mustRevalidate: true,
    });
    assert.deepEqual(parseCacheControl('max-age="30"'), { maxAge: 30 });
  });
  it("first occurrence wins", () => {
    assert.equal(parseCacheControl("max-age=10, max-age=1000").maxAge, 10);
  });
  it("invalid numbers mean stale, huge numbers are clamped", () => {
    assert.equal(parseCacheControl("max-age=abc").maxAge, 0);
    assert.equal(parseCacheControl("max-age=-5").maxAge, 0);
    assert.equal(parseCacheControl("max-age=99999999999999999999").maxAge, 2147483648);
  });
  it("unqualified no-cache wins over a qualified one", () => {
    assert.equal(parseCacheControl('no-cache="a", no-cache').noCache, true);
  });
  it("ignores unknown extensions and junk without throwing", () => {
    assert.deepEqual(parseCacheControl('foo=bar, , ,="x", "unterminated'), {});
    assert.deepEqual(parseCacheControl(null), {});
  });
  it("an absurdly long header is treated as no-store", () => {
    assert.equal(parseCacheControl("max-age=1, ".repeat(5000)).noStore, true);
  });
  it("request directives", () => {
    assert.deepEqual(parseCacheControl("max-stale, min-fresh=5, only-if-cached, no-store"), {
      maxStale: 2147483648,
      minFresh: 5,
      onlyIfCached: true,
      noStore: true,
    });
  });
});

describe("HTTP dates", () => {
  it("reads the three formats as UTC", () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
    assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), t);
    assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), t);
    assert.equal(parseHttpDate(formatHttpDate(t)), t);
  });
  it("rejects anything else", () => {
    for (const bad of ["0", "-1", "tomorrow", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 32 Nov 1994 08:49:37 GMT", ""]) {
      assert.equal(parseHttpDate(bad), null, bad);
    }
  });
});

describe("freshness (RFC 9111 §4.2)", () => {
  it("max-age beats Expires; s-maxage is ignored by a private cache", () => {
    const e = entry({ "Cache-Control": "max-age=100, s-maxage=5", Expires: formatHttpDate(T0 + 5000), Date: formatHttpDate(T0) });
    assert.equal(freshnessLifetime(e, opts), 100);
  });
  it("Expires minus Date", () => {
    assert.equal(freshnessLifetime(entry({ Expires: formatHttpDate(T0 + 30_000), Date: formatHttpDate(T0) }), opts), 30);
  });
  it("an invalid Expires means already stale", () => {
    assert.equal(freshnessLifetime(entry({ Expires: "0", "Last-Modified": formatHttpDate(T0 - 1e9) }), opts), 0);
  });
  it("heuristic: 10% of Date − Last-Modified, capped, only for heuristically cacheable statuses", () => {
    const lm = { Date: formatHttpDate(T0), "Last-Modified": formatHttpDate(T0 - 10_000_000_000) };
    assert.equal(freshnessLifetime(entry({ ...lm, "Last-Modified": formatHttpDate(T0 - 1_000_000) }), opts), 100);
    assert.equal(freshnessLifetime(entry(lm), opts), 86_400);
    assert.equal(freshnessLifetime(entry(lm, { status: 302 }), opts), 0);
    assert.equal(freshnessLifetime(entry({ ...lm, "Cache-Control": "public" }, { status: 302 }), opts), 86_400);
    assert.equal(freshnessLifetime(entry({ Date: formatHttpDate(T0) }), opts), 0);
  });
  it("current age adds Age, response delay and resident time", () => {
    const e = entry({ Date: formatHttpDate(T0 - 10_000), Age: "5" }, { requestTime: T0 - 2000, responseTime: T0 });
    // apparent age 10, corrected age 5 + 2 = 7 → initial age 10; resident 20 s.
    assert.equal(currentAge(e, T0 + 20_000), 30);
  });
  it("serveDecision: fresh, stale, and request directives", () => {
    const e = entry({ "Cache-Control": "max-age=60", Date: formatHttpDate(T0), ETag: '"v1"' });
    const none = new MessageHeaders();
    assert.equal(serveDecision(e, {}, none, T0 + 30_000, opts).fresh, true);
    assert.equal(serveDecision(e, {}, none, T0 + 61_000, opts).fresh, false);
    assert.equal(serveDecision(e, { maxAge: 10 }, none, T0 + 30_000, opts).fresh, false);
    assert.equal(serveDecision(e, { minFresh: 40 }, none, T0 + 30_000, opts).fresh, false);
    assert.equal(serveDecision(e, { noCache: true }, none, T0, opts).fresh, false);
    assert.equal(serveDecision(e, { maxStale: 10 }, none, T0 + 65_000, opts).fresh, true);
    assert.equal(serveDecision(e, {}, new MessageHeaders({ Pragma: "no-cache" }), T0, opts).fresh, false);
    assert.equal(serveDecision(e, {}, none, T0, opts).canRevalidate, true);
    const mustRevalidate = entry({ "Cache-Control": "max-age=60, must-revalidate", Date: formatHttpDate(T0) });
    assert.equal(serveDecision(mustRevalidate, { maxStale: 10 }, none, T0 + 65_000, opts).fresh, false);
    const noCache = entry({ "Cache-Control": "max-age=60, no-cache", Date: formatHttpDate(T0) });
    assert.equal(serveDecision(noCache, {}, none, T0, opts).fresh, false);
  });
});

describe("storability (RFC 9111 §3)", () => {
  const h = (o: Record<string, string>) => new MessageHeaders(o);
  it("GET 200 with max-age is storable", () => assert.equal(notStorableReason("GET", h({}), 200, h({ "Cache-Control": "max-age=1" })), null));
  it("a 200 with only an ETag is storable (heuristically cacheable status, revalidated each time)", () => {
    assert.equal(notStorableReason("GET", h({}), 200, h({ ETag: '"x"' })), null);
  });
  it("refusals", () => {
    assert.equal(notStorableReason("POST", h({}), 200, h({ "Cache-Control": "max-age=1" })), "method");
    assert.equal(notStorableReason("GET", h({ "Cache-Control": "no-store" }), 200, h({ "Cache-Control": "max-age=1" })), "no-store");
    assert.equal(notStorableReason("GET", h({}), 200, h({ "Cache-Control": "max-age=1, no-store" })), "no-store");
    assert.equal(notStorableReason("GET", h({}), 206, h({ "Cache-Control": "max-age=1" })), "status");
    assert.equal(notStorableReason("GET", h({}), 304, h({})), "status");
    assert.equal(notStorableReason("GET", h({}), 302, h({})), "no-freshness-info");
    assert.equal(notStorableReason("GET", h({}), 200, h({ Vary: "Accept, *" })), "vary-star");
    assert.equal(notStorableReason("GET", h({}), 999, h({ "Cache-Control": "max-age=1, must-understand" })), "must-understand");
  });
  it("Authorization: stored only when the response allows it", () => {
    const auth = h({ Authorization: "Bearer t" });
    assert.equal(notStorableReason("GET", auth, 200, h({ "Cache-Control": "max-age=60" })), "authorization");
    assert.equal(notStorableReason("GET", auth, 200, h({ "Cache-Control": "max-age=60, public" })), null);
    assert.equal(notStorableReason("GET", auth, 200, h({ "Cache-Control": "max-age=60, must-revalidate" })), null);
  });
  it("private is fine for a private cache", () => {
    assert.equal(notStorableReason("GET", h({}), 200, h({ "Cache-Control": "private, max-age=5" })), null);
  });
  it("Vary names are normalised", () =>
    assert.deepEqual(varyNames(h({ Vary: "Accept-Language, accept-encoding, ACCEPT-language" })), ["accept-encoding", "accept-language"]));
});

describe("304 header update (RFC 9111 §3.2)", () => {
  it("replaces stored fields, keeps Content-Length and Content-Encoding", () => {
    const stored = new MessageHeaders([
      ["Content-Length", "10"],
      ["Content-Encoding", "gzip"],
      ["ETag", '"1"'],
      ["X-A", "old"],
      ["X-A", "old2"],
    ]);
    const nm = new MessageHeaders([
      ["Content-Length", "0"],
      ["ETag", '"1"'],
      ["X-A", "new"],
      ["Connection", "keep-alive"],
      ["X-B", "b"],
    ]);
    const out = updateHeadersFrom304(stored, nm);
    assert.equal(out.get("Content-Length"), "10");
    assert.equal(out.get("Content-Encoding"), "gzip");
    assert.deepEqual(out.getAll("X-A"), ["new"]);
    assert.equal(out.get("X-B"), "b");
    assert.equal(out.get("Connection"), null);
  });
});

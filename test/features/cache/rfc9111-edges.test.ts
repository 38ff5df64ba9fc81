/**
 * Issue 12 item 11: the cache's parsing and storing edge rules (RFC 9111, as the http-tests
 * cache-tests suite checks them), each on a real loopback server, plus every RequestCache
 * mode through session.fetch.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Session } from "../../../src/index.js";
import { Cache, CacheMissError, formatHttpDate, parseAge, parseHttpDate } from "../../../src/features/cache/index.js";
import { CookieJar } from "../../../src/features/cookies/index.js";
import { clock, get, handlers, hits, makeSession, seen, srv, useCacheServer } from "./harness.js";

useCacheServer();

/** A handler that answers with `headers` (values may be arrays: one line each) and `body`. */
function serve(headers: Record<string, string | string[]>, body = "ok") {
  return (_q: unknown, r: import("node:http").ServerResponse) => {
    r.setHeader("Date", formatHttpDate(Date.now()));
    for (const [k, v] of Object.entries(headers)) r.setHeader(k, v);
    r.end(body);
  };
}

/** Fetches `path` twice; returns how many requests reached the server. */
async function twice(path: string): Promise<number> {
  await using session = makeSession(new Cache());
  await get(session, path);
  await get(session, path);
  return hits[path];
}

describe("RFC 9111 edge rules on a real server", () => {
  it("Age: a non-integer (7200.0) is ignored; a list (one line or two) counts by its first member", async () => {
    const cc = { "Cache-Control": "max-age=3600" };
    handlers["/age-float"] = serve({ ...cc, Age: "7200.0" });
    handlers["/age-int"] = serve({ ...cc, Age: "7200" });
    handlers["/age-list"] = serve({ ...cc, Age: "7200, 0" });
    handlers["/age-lines"] = serve({ ...cc, Age: ["7200", "0"] });
    handlers["/age-young-first"] = serve({ ...cc, Age: "0, 7200" });
    handlers["/age-negative"] = serve({ ...cc, Age: "-7200" });
    assert.equal(await twice("/age-float"), 1, "7200.0 is not delta-seconds: ignored, so fresh");
    assert.equal(await twice("/age-int"), 2, "Age 7200 > max-age 3600: stale");
    assert.equal(await twice("/age-list"), 2, "`7200, 0` is 7200: stale");
    assert.equal(await twice("/age-lines"), 2, "two lines 7200 and 0: the first counts");
    assert.equal(await twice("/age-young-first"), 1, "`0, 7200` is 0: fresh");
    assert.equal(await twice("/age-negative"), 1, "a negative Age is ignored");
  });

  it("Expires: only the three HTTP-date forms count; anything else means already expired", async () => {
    const cases: Array<[string, number]> = [
      ["Thu, 18 Aug 2050 02:01:18 GMT", 1], // IMF-fixdate
      ["Thursday, 18-Aug-50 02:01:18 GMT", 1], // obsolete RFC 850: two-digit year allowed here only
      ["Thu Aug 18 02:01:18 2050", 1], // asctime
      ["THU, 18 AUG 2050 02:01:18 gMT", 1], // letter case is not significant
      ["Thu, 18 Aug 50 02:01:18 GMT", 2], // two-digit year in IMF form: invalid
      ["Thu, 18-Aug-2050 02:01:18 GMT", 1], // the browsers' dashed form with a four-digit year: accepted
      ["Thu, 18 Aug 2050 02:01:18 UTC", 2],
      ["Thu 18 Aug 2050 02:01:18 GMT", 2],
      ["Thu, 18 Aug 2050 2:01:18 GMT", 2],
      ["0", 2],
    ];
    for (const [i, [expires, expected]] of cases.entries()) {
      handlers[`/exp${i}`] = serve({ Expires: expires });
      assert.equal(await twice(`/exp${i}`), expected, `Expires: ${expires}`);
    }
  });

  it("a stale immutable response is revalidated when the request asks (fetch cache: no-cache); a fresh one too", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    handlers["/imm"] = (req, r) => {
      r.setHeader("Cache-Control", "max-age=100, immutable");
      r.setHeader("ETag", '"i1"');
      if (req.headers["if-none-match"] === '"i1"') {
        r.statusCode = 304;
        return r.end();
      }
      r.end("immutable body");
    };
    const url = `${srv.base}/imm`;
    assert.equal(await (await session.fetch(url)).text(), "immutable body");
    assert.equal(await (await session.fetch(url)).text(), "immutable body");
    assert.equal(hits["/imm"], 1, "fresh and immutable: a hit");
    const fresh = await session.fetch(url, { cache: "no-cache" });
    assert.equal(await fresh.text(), "immutable body");
    assert.equal(hits["/imm"], 2, "no-cache mode revalidates even a fresh immutable response");
    assert.equal(seen["/imm"][1]["if-none-match"], '"i1"');
    c.advance(1000);
    const stale = await session.fetch(url, { cache: "no-cache" });
    assert.equal(stale.status, 200);
    assert.equal(await stale.text(), "immutable body");
    assert.equal(hits["/imm"], 3);
    assert.equal(seen["/imm"][2]["if-none-match"], '"i1"', "a conditional request, answered by 304");
    assert.equal(seen["/imm"][2]["cache-control"], "max-age=0", "fetch adds Cache-Control: max-age=0 as the standard says");
  });

  it("headers named in Connection are not stored", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    handlers["/conn"] = serve({
      "Cache-Control": "max-age=60",
      Connection: "keep-alive, X-Hop-Only",
      "X-Hop-Only": "per-connection",
      "X-Kept": "end-to-end",
    });
    const network = await get(session, "/conn");
    assert.equal(network.msg.responseHeaders.get("X-Hop-Only"), "per-connection", "the network response has it");
    const hit = await get(session, "/conn");
    assert.equal(hit.msg.fromCache, true);
    assert.equal(hit.msg.responseHeaders.get("X-Kept"), "end-to-end");
    assert.equal(hit.msg.responseHeaders.get("X-Hop-Only"), null);
    assert.equal(hit.msg.responseHeaders.get("Connection"), null);
  });

  it("Set-Cookie is stored with the response; the jar applies it once, on the network response", async () => {
    const cache = new Cache();
    const jar = new CookieJar();
    await using session = new Session({ features: [cache, jar] });
    let changes = 0;
    jar.on("changed", () => changes++);
    handlers["/setc"] = serve({ "Cache-Control": "max-age=60", "Set-Cookie": "n=1; Path=/" }, "c");
    handlers["/setc-etag"] = (req, r) => {
      r.setHeader("Cache-Control", "no-cache");
      r.setHeader("ETag", '"e"');
      if (req.headers["if-none-match"] === '"e"') {
        r.statusCode = 304;
        return r.end();
      }
      r.setHeader("Set-Cookie", "m=1; Path=/");
      r.end("e");
    };
    const network = await get(session, "/setc");
    assert.equal(network.msg.fromCache, false);
    assert.equal(changes, 1);
    // The application (or a later response) changes the cookie; a hit must not put n=1 back.
    await jar.setCookie(`${srv.base}/`, "n=2; Path=/");
    assert.equal(changes, 2);
    const hit = await get(session, "/setc");
    assert.equal(hit.msg.fromCache, true);
    assert.equal(hit.msg.responseHeaders.get("Set-Cookie"), "n=1; Path=/", "the caller gets the stored response whole");
    assert.equal(changes, 2, "the jar did not see the stored Set-Cookie again");
    assert.equal(await jar.getCookieHeader(`${srv.base}/`), "n=2");
    // Revalidated by a 304 without Set-Cookie: the stored one is served, the jar left alone.
    await get(session, "/setc-etag");
    await jar.setCookie(`${srv.base}/`, "m=2; Path=/");
    const changesBefore = changes;
    const revalidated = await get(session, "/setc-etag");
    assert.equal(cache.statusOf(revalidated.msg), "revalidated");
    assert.equal(revalidated.msg.responseHeaders.get("Set-Cookie"), "m=1; Path=/");
    assert.equal(changes, changesBefore);
    assert.equal(await jar.getCookieHeader(`${srv.base}/`), "n=2; m=2");
  });
});

describe("session.fetch honours every RequestCache mode", () => {
  /** A fresh-for-60-s, ETag'd resource whose body counts the full responses. */
  function counted(path: string) {
    let n = 0;
    handlers[path] = (req, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.setHeader("ETag", '"c"');
      if (req.headers["if-none-match"] === '"c"') {
        r.statusCode = 304;
        return r.end();
      }
      r.end(`v${++n}`);
    };
    return `${srv.base}${path}`;
  }

  it("default: a fresh hit; stale: revalidated", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    const url = counted("/m-default");
    assert.equal(await (await session.fetch(url, { cache: "default" })).text(), "v1");
    assert.equal(await (await session.fetch(url)).text(), "v1");
    assert.equal(hits["/m-default"], 1);
    c.advance(120);
    assert.equal(await (await session.fetch(url)).text(), "v1");
    assert.equal(seen["/m-default"][1]["if-none-match"], '"c"');
  });

  it("no-store: neither looked up nor stored; Pragma and Cache-Control: no-cache go out", async () => {
    await using session = makeSession(new Cache());
    const url = counted("/m-nostore");
    assert.equal(await (await session.fetch(url)).text(), "v1"); // stored
    assert.equal(await (await session.fetch(url, { cache: "no-store" })).text(), "v2", "not looked up");
    assert.equal(seen["/m-nostore"][1]["if-none-match"], undefined);
    assert.equal(seen["/m-nostore"][1].pragma, "no-cache");
    assert.equal(seen["/m-nostore"][1]["cache-control"], "no-cache");
    assert.equal(await (await session.fetch(url)).text(), "v1", "v2 was not stored: v1 is still the stored one");
    assert.equal(hits["/m-nostore"], 2);
    // A Request object carries the mode too.
    assert.equal(await (await session.fetch(new Request(url, { cache: "no-store" }))).text(), "v3");
  });

  it("reload: not looked up, but the new response is stored", async () => {
    await using session = makeSession(new Cache());
    const url = counted("/m-reload");
    assert.equal(await (await session.fetch(url)).text(), "v1");
    assert.equal(await (await session.fetch(url, { cache: "reload" })).text(), "v2");
    assert.equal(seen["/m-reload"][1]["if-none-match"], undefined);
    assert.equal(await (await session.fetch(url)).text(), "v2", "a hit on the reloaded response");
    assert.equal(hits["/m-reload"], 2);
  });

  it("no-cache: a fresh stored response is revalidated first", async () => {
    await using session = makeSession(new Cache());
    const url = counted("/m-nocache");
    await session.fetch(url).then((r) => r.text());
    const r = await session.fetch(url, { cache: "no-cache" });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "v1");
    assert.equal(hits["/m-nocache"], 2);
    assert.equal(seen["/m-nocache"][1]["if-none-match"], '"c"');
    // The mode itself, not fetch's Cache-Control: max-age=0, makes the cache revalidate: with
    // the caller's own Cache-Control (so fetch adds none) it still does.
    const own = await session.fetch(url, { cache: "no-cache", headers: { "Cache-Control": "no-transform" } });
    assert.equal(await own.text(), "v1");
    assert.equal(hits["/m-nocache"], 3);
    assert.equal(seen["/m-nocache"][2]["cache-control"], "no-transform");
  });

  it("force-cache: a stale stored response is used without the network; nothing stored: fetched and stored", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    const url = counted("/m-force");
    assert.equal(await (await session.fetch(url, { cache: "force-cache" })).text(), "v1");
    c.advance(3600);
    assert.equal(await (await session.fetch(url, { cache: "force-cache" })).text(), "v1");
    assert.equal(hits["/m-force"], 1);
  });

  it("only-if-cached: a stale stored response is used; nothing stored: CACHE_MISS and no request", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    const url = counted("/m-only");
    await assert.rejects(session.fetch(url, { cache: "only-if-cached" }), (e: unknown) => e instanceof CacheMissError && e.code === "CACHE_MISS");
    assert.equal(hits["/m-only"], undefined, "the network was not used");
    await session.fetch(url).then((r) => r.text());
    c.advance(3600);
    assert.equal(await (await session.fetch(url, { cache: "only-if-cached" })).text(), "v1");
    assert.equal(hits["/m-only"], 1);
  });
});

describe("parseAge and parseHttpDate", () => {
  it("parseAge takes the first member and ignores anything but digits", () => {
    assert.equal(parseAge("7200"), 7200);
    assert.equal(parseAge("7200, 0"), 7200);
    assert.equal(parseAge("0, 7200"), 0);
    assert.equal(parseAge("7200.0"), 0);
    assert.equal(parseAge("-1"), 0);
    assert.equal(parseAge("abc"), 0);
    assert.equal(parseAge("99999999999"), 2147483648);
    assert.equal(parseAge(null), 0);
  });
  it("parseHttpDate: the three forms and the dashed four-digit form, case-insensitive; no 31 February", () => {
    const t = Date.UTC(2050, 7, 18, 2, 1, 18);
    assert.equal(parseHttpDate("Thu, 18 Aug 2050 02:01:18 GMT"), t);
    assert.equal(parseHttpDate("Thursday, 18-Aug-50 02:01:18 GMT"), t);
    assert.equal(parseHttpDate("Thu Aug 18 02:01:18 2050"), t);
    assert.equal(parseHttpDate("thu, 18 aug 2050 02:01:18 gmt"), t);
    assert.equal(parseHttpDate("Thu, 18-Aug-2050 02:01:18 GMT"), t);
    assert.equal(parseHttpDate("Thu, 18-Aug-50 02:01:18 GMT"), null);
    for (const bad of ["Thu, 18 Aug 50 02:01:18 GMT", "Thu, 18  Aug  2050 02:01:18 GMT", "Sat, 31 Feb 2024 00:00:00 GMT"]) {
      assert.equal(parseHttpDate(bad), null, bad);
    }
  });
});

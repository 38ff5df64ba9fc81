import { describe, it } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { Message, MessageFlags } from "../../../src/index.js";
import { Cache } from "../../../src/features/cache/index.js";
import { clock, get, handlers, hits, makeSession, seen, useCacheServer } from "./harness.js";

useCacheServer();

describe("Cache through a Session: freshness, validation, variants", () => {
  it("a fresh response is served from storage: no network, fromCache, Age, zero network bytes", async () => {
    const c = clock();
    const cache = new Cache({ now: c.now });
    await using session = makeSession(cache);
    handlers["/fresh"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.end("payload");
    };
    const first = await get(session, "/fresh");
    assert.equal(first.msg.fromCache, false);
    assert.equal(cache.statusOf(first.msg), "stored");
    c.advance(5);
    const second = await get(session, "/fresh", (m) => m.addFlags(MessageFlags.COLLECT_METRICS));
    assert.equal(hits["/fresh"], 1);
    assert.equal(second.body, "payload");
    assert.equal(second.msg.status, 200);
    assert.equal(second.msg.fromCache, true);
    assert.equal(cache.statusOf(second.msg), "hit");
    assert.equal(second.msg.responseHeaders.get("Age"), "5");
    const m = second.msg.metrics!;
    assert.equal(m.responseBodyBytesReceived + m.responseHeaderBytesReceived + m.requestHeaderBytesSent, 0);
  });

  it("becomes stale after max-age and is fetched again", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    let v = 0;
    handlers["/short"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=10");
      r.end(`v${++v}`);
    };
    assert.equal((await get(session, "/short")).body, "v1");
    c.advance(11);
    assert.equal((await get(session, "/short")).body, "v2");
    assert.equal(hits["/short"], 2);
  });

  it("no-store (response or request) is never stored", async () => {
    await using session = makeSession(new Cache());
    handlers["/nostore"] = (_q, r) => {
      r.setHeader("Cache-Control", "no-store, max-age=60");
      r.end("x");
    };
    handlers["/ok"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.end("x");
    };
    await get(session, "/nostore");
    await get(session, "/nostore");
    assert.equal(hits["/nostore"], 2);
    const noStore = (m: Message) => m.requestHeaders.set("Cache-Control", "no-store");
    await get(session, "/ok", noStore);
    await get(session, "/ok", noStore);
    assert.equal(hits["/ok"], 2);
  });

  it("ETag revalidation: If-None-Match sent, 304 serves the stored body with updated headers", async () => {
    const cache = new Cache();
    await using session = makeSession(cache);
    handlers["/etag"] = (req, r) => {
      r.setHeader("Cache-Control", "no-cache");
      r.setHeader("ETag", '"v1"');
      if (req.headers["if-none-match"] === '"v1"') {
        r.setHeader("X-Checked", "yes");
        r.statusCode = 304;
        r.end();
      } else r.end("original body");
    };
    await get(session, "/etag");
    const { msg, body } = await get(session, "/etag");
    assert.equal(hits["/etag"], 2);
    assert.equal(seen["/etag"][1]["if-none-match"], '"v1"');
    assert.equal(body, "original body");
    assert.equal(msg.status, 200);
    assert.equal(msg.fromCache, true);
    assert.equal(cache.statusOf(msg), "revalidated");
    assert.equal(msg.responseHeaders.get("X-Checked"), "yes");
    // Our validator is not left on the caller's message.
    assert.equal(msg.requestHeaders.get("If-None-Match"), null);
  });

  it("Last-Modified revalidation sends If-Modified-Since; a 200 replaces the entry", async () => {
    await using session = makeSession(new Cache());
    const lm = new Date(Date.now() - 3600_000).toUTCString();
    let v = 0;
    handlers["/lm"] = (req, r) => {
      r.setHeader("Cache-Control", "max-age=0");
      r.setHeader("Last-Modified", lm);
      if (req.headers["if-modified-since"] === lm && v === 1) {
        r.statusCode = 304;
        r.end();
      } else r.end(`v${++v}`);
    };
    assert.equal((await get(session, "/lm")).body, "v1");
    assert.equal((await get(session, "/lm")).body, "v1");
    assert.equal(seen["/lm"][1]["if-modified-since"], lm);
    v = 5; // server now has new content and answers 200 to the conditional request
    assert.equal((await get(session, "/lm")).body, "v6");
    v = 1; // pretend v6 is current: the next revalidation serves the replaced entry
    handlers["/lm"] = (req, r) => {
      r.statusCode = req.headers["if-modified-since"] === lm ? 304 : 500;
      r.end();
    };
    assert.equal((await get(session, "/lm")).body, "v6");
  });

  it("heuristic freshness from Last-Modified (10%, capped at a day)", async () => {
    const c = clock();
    await using session = makeSession(new Cache({ now: c.now }));
    handlers["/heur"] = (_q, r) => {
      r.setHeader("Date", new Date(c.now()).toUTCString());
      r.setHeader("Last-Modified", new Date(c.now() - 30 * 86400_000).toUTCString());
      r.end("h");
    };
    await get(session, "/heur");
    c.advance(12 * 3600);
    assert.equal((await get(session, "/heur")).msg.fromCache, true);
    c.advance(13 * 3600);
    const later = await get(session, "/heur");
    assert.equal(hits["/heur"], 2);
    assert.ok(seen["/heur"][1]["if-modified-since"], "stale heuristic entry is revalidated");
    assert.equal(later.body, "h");
  });

  it("Expires in the future is fresh, in the past is not", async () => {
    await using session = makeSession(new Cache());
    handlers["/exp-future"] = (_q, r) => {
      r.setHeader("Expires", new Date(Date.now() + 3600_000).toUTCString());
      r.end("f");
    };
    handlers["/exp-past"] = (_q, r) => {
      r.setHeader("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");
      r.end("p");
    };
    await get(session, "/exp-future");
    await get(session, "/exp-future");
    await get(session, "/exp-past");
    await get(session, "/exp-past");
    assert.equal(hits["/exp-future"], 1);
    assert.equal(hits["/exp-past"], 2);
  });

  it("Vary keeps one variant per request header value", async () => {
    await using session = makeSession(new Cache());
    handlers["/vary"] = (req, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.setHeader("Vary", "Accept-Language");
      r.end(`lang=${req.headers["accept-language"] ?? "none"}`);
    };
    const lang = (l: string) => (m: Message) => m.requestHeaders.set("Accept-Language", l);
    assert.equal((await get(session, "/vary", lang("en"))).body, "lang=en");
    assert.equal((await get(session, "/vary", lang("fr"))).body, "lang=fr");
    assert.equal((await get(session, "/vary", lang("en"))).body, "lang=en");
    assert.equal((await get(session, "/vary", lang("fr"))).body, "lang=fr");
    assert.equal(hits["/vary"], 2);
  });

  it("stores the encoded body; the decoder decodes hits (Vary: Accept-Encoding)", async () => {
    await using session = makeSession(new Cache());
    const text = "compressible ".repeat(200);
    handlers["/gz"] = (req, r) => {
      assert.match(String(req.headers["accept-encoding"]), /gzip/);
      r.setHeader("Cache-Control", "max-age=60");
      r.setHeader("Vary", "Accept-Encoding");
      r.setHeader("Content-Encoding", "gzip");
      r.end(zlib.gzipSync(text));
    };
    assert.equal((await get(session, "/gz")).body, text);
    const hit = await get(session, "/gz");
    assert.equal(hit.body, text);
    assert.equal(hit.msg.fromCache, true);
    assert.equal(hits["/gz"], 1);
  });
});

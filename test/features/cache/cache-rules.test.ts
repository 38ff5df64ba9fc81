import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import zlib from "node:zlib";
import { Message, Session } from "../../../src/index.js";
import { Cache, MemoryCacheStorage, SqliteCacheStorage } from "../../../src/features/cache/index.js";
import { ContentSniffer } from "../../../src/features/sniffer/index.js";
import { get, handlers, hits, makeSession, seen, srv, useCacheServer } from "./harness.js";

useCacheServer();

describe("Cache through a Session: invalidation, limits, storage, safety", () => {
  it("unsafe methods invalidate the URL and same-origin Location", async () => {
    await using session = makeSession(new Cache());
    for (const p of ["/item", "/list"]) {
      handlers[p] = (_q, r) => {
        r.setHeader("Cache-Control", "max-age=60");
        r.end(p);
      };
    }
    handlers["/item-post"] = handlers["/item"];
    await get(session, "/item");
    await get(session, "/list");
    const post = new Message("POST", `${srv.base}/item`);
    post.setRequestBody("text/plain", "x");
    const origHandler = handlers["/item"];
    handlers["/item"] = (req, r) => {
      if (req.method === "POST") {
        r.setHeader("Location", "/list");
        r.statusCode = 201;
        r.end();
      } else origHandler(req, r);
    };
    await session.sendAndRead(post);
    await get(session, "/item");
    await get(session, "/list");
    assert.equal(hits["/item"], 3); // GET, POST, GET again
    assert.equal(hits["/list"], 2);
  });

  it("a failed unsafe request does not invalidate", async () => {
    await using session = makeSession(new Cache());
    handlers["/keep"] = (req, r) => {
      if (req.method === "DELETE") {
        r.statusCode = 500;
        return r.end();
      }
      r.setHeader("Cache-Control", "max-age=60");
      r.end("k");
    };
    await get(session, "/keep");
    await session.sendAndRead(new Message("DELETE", `${srv.base}/keep`));
    await get(session, "/keep");
    assert.equal(hits["/keep"], 2);
  });

  it("Authorization requests are stored only when the response allows it", async () => {
    await using session = makeSession(new Cache());
    handlers["/private"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.end("secret");
    };
    handlers["/public"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60, public");
      r.end("shared");
    };
    const auth = (m: Message) => m.requestHeaders.set("Authorization", "Bearer abc");
    await get(session, "/private", auth);
    await get(session, "/private", auth);
    await get(session, "/public", auth);
    await get(session, "/public", auth);
    assert.equal(hits["/private"], 2);
    assert.equal(hits["/public"], 1);
  });

  it("a body over maxEntrySize reaches the caller whole and is not stored", async () => {
    const cache = new Cache({ maxSize: 1_000_000, maxEntrySize: 10_000 });
    await using session = makeSession(cache);
    const big = Buffer.alloc(50_000, 0x62).toString();
    handlers["/big"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.end(big);
    };
    const first = await get(session, "/big");
    assert.equal(first.body.length, 50_000);
    assert.equal(cache.statusOf(first.msg), "miss");
    await get(session, "/big");
    assert.equal(hits["/big"], 2);
    assert.equal(cache.size, 0);
  });

  it("only-if-cached answers 504 when nothing is stored", async () => {
    await using session = makeSession(new Cache());
    const { msg } = await get(session, "/none", (m) => m.requestHeaders.set("Cache-Control", "only-if-cached"));
    assert.equal(msg.status, 504);
    assert.equal(hits["/none"], undefined);
  });

  it("the caller's own conditional request passes through untouched", async () => {
    await using session = makeSession(new Cache());
    handlers["/cond"] = (req, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.setHeader("ETag", '"e"');
      if (req.headers["if-none-match"] === '"e"') {
        r.statusCode = 304;
        return r.end();
      }
      r.end("body");
    };
    await get(session, "/cond");
    const { msg, body } = await get(session, "/cond", (m) => m.requestHeaders.set("If-None-Match", '"e"'));
    assert.equal(msg.status, 304);
    assert.equal(body, "");
    assert.equal(hits["/cond"], 2);
  });

  it("hostile cache headers never throw or loop", async () => {
    await using session = makeSession(new Cache());
    handlers["/hostile"] = (_q, r) => {
      r.setHeader("Cache-Control", 'max-age="99999999999999999999999", no-cache="", private="\\"');
      r.setHeader("Expires", "garbage");
      r.setHeader("Vary", ",,,");
      r.setHeader("Age", "-1e309");
      r.setHeader("Date", "Thu, 99 Foo 99999 99:99:99 GMT");
      r.end("h");
    };
    assert.equal((await get(session, "/hostile")).body, "h");
    assert.equal((await get(session, "/hostile")).body, "h");
  });

  it("clear() empties the cache", async () => {
    const cache = new Cache();
    await using session = makeSession(cache);
    handlers["/c"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.end("c");
    };
    await get(session, "/c");
    await cache.clear();
    await get(session, "/c");
    assert.equal(hits["/c"], 2);
  });

  it("SQLite storage serves hits after a restart of session and storage", async () => {
    const file = join(srv.dir, "persist.db");
    handlers["/persist"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=600");
      r.end("from disk");
    };
    {
      const cache = new Cache({ storage: await SqliteCacheStorage.open(file) });
      await using session = makeSession(cache);
      await get(session, "/persist");
      await cache.flush();
      await cache.close();
    }
    const cache = new Cache({ storage: await SqliteCacheStorage.open(file) });
    await using session = makeSession(cache);
    const { msg, body } = await get(session, "/persist");
    assert.equal(body, "from disk");
    assert.equal(msg.fromCache, true);
    assert.equal(hits["/persist"], 1);
    await cache.close();
  });

  it("LRU eviction through the feature keeps the total under maxSize", async () => {
    const storage = new MemoryCacheStorage({ maxSize: 5000 });
    const cache = new Cache({ storage, maxEntrySize: 5000 });
    await using session = makeSession(cache);
    for (const p of ["/e1", "/e2", "/e3", "/e4"]) {
      handlers[p] = (_q, r) => {
        r.setHeader("Cache-Control", "max-age=60");
        r.end(Buffer.alloc(1500, 0x63));
      };
      await get(session, p);
    }
    assert.ok(cache.size <= 5000);
    await get(session, "/e4");
    await get(session, "/e1");
    assert.equal(hits["/e4"], 1, "most recent entry kept");
    assert.equal(hits["/e1"], 2, "oldest entry evicted");
  });

  it("a caller writing into a hit's bytes does not change the stored body", async () => {
    await using session = makeSession(new Cache());
    handlers["/mut"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.end("abc");
    };
    await get(session, "/mut");
    const bytes = await session.sendAndRead(new Message("GET", `${srv.base}/mut`));
    bytes.fill(0x7a);
    assert.equal((await get(session, "/mut")).body, "abc");
    assert.equal(hits["/mut"], 1);
  });

  it("a response varying on a header a later feature sets is not stored", async () => {
    const later = { order: 70, beforeSend: (m: Message) => m.requestHeaders.set("X-Token", "t1") };
    await using session = new Session({ features: [new Cache(), later] });
    handlers["/vary-later"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.setHeader("Vary", "X-Token");
      r.end("v");
    };
    await get(session, "/vary-later");
    await get(session, "/vary-later");
    assert.equal(hits["/vary-later"], 2);
  });

  it("Set-Cookie is stored with the response; a 304's Set-Cookie replaces it and reaches the message", async () => {
    const file = join(srv.dir, "cookies.db");
    const cache = new Cache({ storage: await SqliteCacheStorage.open(file) });
    await using session = makeSession(cache);
    let n = 0;
    handlers["/sc"] = (req, r) => {
      r.setHeader("Cache-Control", "max-age=0");
      r.setHeader("ETag", '"s"');
      r.setHeader("Set-Cookie", `sid=v${++n}; Path=/`);
      if (req.headers["if-none-match"] === '"s"') {
        r.statusCode = 304;
        return r.end();
      }
      r.end("sc");
    };
    const first = await get(session, "/sc");
    assert.equal(first.msg.responseHeaders.get("Set-Cookie"), "sid=v1; Path=/");
    const revalidated = await get(session, "/sc");
    assert.equal(cache.statusOf(revalidated.msg), "revalidated");
    assert.equal(revalidated.msg.responseHeaders.getAll("Set-Cookie").join("|"), "sid=v2; Path=/");
    await cache.flush();
    await cache.close();
    // Stored on disk (RFC 9111 §3.1 lets a cache keep it; docs/features/cache.md says so).
    assert.equal(readFileSync(file).includes("sid=v2"), true);
    if (process.platform !== "win32") assert.equal(statSync(file).mode & 0o777, 0o600, "readable by its owner only");
  });

  it("a 304 whose ETag is not the stored one is not used: the request is sent again without validators", async () => {
    const cache = new Cache();
    await using session = makeSession(cache);
    let v = 0;
    handlers["/other-etag"] = (req, r) => {
      r.setHeader("Cache-Control", "no-cache");
      if (req.headers["if-none-match"]) {
        r.setHeader("ETag", '"different"');
        r.statusCode = 304;
        return r.end();
      }
      r.setHeader("ETag", `"v${++v}"`);
      r.end(`body${v}`);
    };
    assert.equal((await get(session, "/other-etag")).body, "body1");
    const { msg, body } = await get(session, "/other-etag");
    assert.equal(body, "body2");
    assert.equal(msg.status, 200);
    assert.equal(hits["/other-etag"], 3);
    assert.equal(seen["/other-etag"][2]["if-none-match"], undefined);
  });

  it("a hit of a gzip body is decoded and then sniffed like a network response", async () => {
    await using session = new Session({ features: [new Cache(), new ContentSniffer()] });
    handlers["/sniff"] = (_q, r) => {
      r.setHeader("Cache-Control", "max-age=60");
      r.setHeader("Content-Encoding", "gzip");
      r.end(zlib.gzipSync("<html><p>cached</p></html>"));
    };
    const first = await get(session, "/sniff");
    const hit = await get(session, "/sniff");
    assert.equal(hit.msg.fromCache, true);
    assert.equal(hit.body, "<html><p>cached</p></html>");
    assert.equal(first.msg.sniffedContentType?.contentType, "text/html");
    assert.equal(hit.msg.sniffedContentType?.contentType, "text/html");
  });
});

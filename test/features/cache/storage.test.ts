import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Cache,
  CacheStorageError,
  MemoryCacheStorage,
  SqliteCacheStorage,
  assertCacheStorage,
  type CacheStorage,
  type StoredResponse,
} from "../../../src/features/cache/index.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-cache-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function entry(key: string, body: number | string, variant = ""): StoredResponse {
  return {
    key,
    variant,
    varyHeaders: variant ? { "accept-language": variant } : {},
    status: 200,
    reasonPhrase: "OK",
    headers: ["content-type", "text/plain", "etag", `"${key}"`],
    body: typeof body === "string" ? Buffer.from(body) : Buffer.alloc(body, 0x61),
    requestTime: 1000,
    responseTime: 2000,
  };
}

const kinds: Array<[string, (maxSize: number) => Promise<CacheStorage>]> = [
  ["MemoryCacheStorage", async (maxSize) => new MemoryCacheStorage({ maxSize })],
  ["SqliteCacheStorage", (maxSize) => SqliteCacheStorage.open(join(dir, `c${n++}.db`), { maxSize })],
];

for (const [name, make] of kinds) {
  describe(`${name} (storage contract)`, () => {
    it("passes the runtime check", async () => {
      const s = await make(1e6);
      assertCacheStorage(s);
      await s.close();
    });

    it("put/get round-trips every field", async () => {
      const s = await make(1e6);
      const e = entry("GET http://a/", "hello");
      await s.put(e);
      const [got] = await s.get("GET http://a/");
      assert.deepEqual({ ...got, body: Buffer.from(got.body) }, { ...e, body: Buffer.from("hello") });
      assert.deepEqual(await s.get("GET http://other/"), []);
      await s.close();
    });

    it("keeps variants apart and replaces a variant in place", async () => {
      const s = await make(1e6);
      await s.put(entry("k", "en-1", "en"));
      await s.put(entry("k", "fr-1", "fr"));
      await s.put(entry("k", "en-2", "en"));
      const got = await s.get("k");
      assert.equal(got.length, 2);
      assert.deepEqual(got.map((e) => Buffer.from(e.body).toString()).sort(), ["en-2", "fr-1"]);
      await s.delete("k");
      assert.deepEqual(await s.get("k"), []);
      assert.equal(s.size, 0);
      await s.close();
    });

    it("evicts least recently used entries beyond maxSize; a use counts", async () => {
      const s = await make(2500);
      await s.put(entry("a", 1000));
      await s.put(entry("b", 1000));
      await s.get("a"); // a is now more recent than b
      await s.put(entry("c", 1000));
      assert.equal((await s.get("b")).length, 0, "b was least recently used");
      assert.equal((await s.get("a")).length, 1);
      assert.equal((await s.get("c")).length, 1);
      assert.ok(s.size <= 2500);
      await s.close();
    });

    it("an entry bigger than maxSize is not stored; lowering maxSize evicts", async () => {
      const s = await make(2000);
      await s.put(entry("big", 5000));
      assert.deepEqual(await s.get("big"), []);
      await s.put(entry("x", 500));
      await s.put(entry("y", 500));
      s.maxSize = 700;
      assert.ok(s.size <= 700);
      assert.equal((await s.get("y")).length, 1);
      assert.equal((await s.get("x")).length, 0);
      await s.close();
    });

    it("clear and flush", async () => {
      const s = await make(1e6);
      await s.put(entry("a", 10));
      await s.flush();
      await s.clear();
      assert.deepEqual(await s.get("a"), []);
      assert.equal(s.size, 0);
      await s.close();
    });
  });
}

describe("SqliteCacheStorage specifics", () => {
  it("survives a restart", async () => {
    const file = join(dir, "restart.db");
    const a = await SqliteCacheStorage.open(file);
    await a.put(entry("GET http://h/x", "kept"));
    a.close();
    const b = await SqliteCacheStorage.open(file);
    const [got] = b.get("GET http://h/x");
    assert.equal(Buffer.from(got.body).toString(), "kept");
    assert.ok(b.size > 0);
    b.close();
  });

  it("a damaged row is dropped, not served or thrown", async () => {
    const file = join(dir, "damaged.db");
    const s = await SqliteCacheStorage.open(file);
    s.put(entry("k", "x"));
    s.close();
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(file);
    db.prepare("UPDATE sessionkit_cache SET meta = '{not json'").run();
    db.close();
    const t = await SqliteCacheStorage.open(file);
    assert.deepEqual(t.get("k"), []);
    assert.equal(t.size, 0);
    t.close();
  });

  it("use after close is a typed error", async () => {
    const s = await SqliteCacheStorage.open(join(dir, "closed.db"));
    s.close();
    assert.throws(
      () => s.get("k"),
      (e: unknown) => e instanceof CacheStorageError && e.code === "CACHE_STORAGE_FAILED",
    );
  });

  it("an unusable path is STORE_UNAVAILABLE", async () => {
    await assert.rejects(
      SqliteCacheStorage.open(join(dir, "no", "such", "dir", "x.db")),
      (e: unknown) => e instanceof CacheStorageError && e.code === "STORE_UNAVAILABLE",
    );
  });
});

describe("Cache options", () => {
  it("refuses a storage without the contract's methods", () => {
    assert.throws(() => new Cache({ storage: { get() {} } as unknown as CacheStorage }), /storage\.put must be a function/);
  });
  it("maxSize and maxEntrySize", () => {
    const c = new Cache({ maxSize: 1000 });
    assert.equal(c.maxSize, 1000);
    assert.equal(c.maxEntrySize, 100);
    c.maxEntrySize = 50;
    assert.equal(c.maxEntrySize, 50);
    assert.throws(() => (c.maxSize = -1), TypeError);
  });
});

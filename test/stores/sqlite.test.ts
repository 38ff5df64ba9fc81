import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { runStoreConformance } from "../../src/stores/conformance.js";
import { SqliteStore } from "../../src/stores/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-sqlite-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runStoreConformance("SqliteStore", () => new SqliteStore({ path: join(dir, `conf-${n++}.db`), sweepInterval: 0 }), {
  expirySlackMs: 20,
});

const rec = (data: Record<string, number> = {}, ttl = 60_000) => ({ data, createdAt: Date.now(), expiresAt: Date.now() + ttl });

describe("SqliteStore", () => {
  it("is durable across a close and reopen of the file", async () => {
    const path = join(dir, "durable.db");
    const first = new SqliteStore({ path, sweepInterval: 0 });
    await first.create("abc", rec({ n: 1 }));
    await first.update("abc", { set: { m: 2 }, delete: [] }, Date.now() + 60_000);
    await first.close();
    await using second = new SqliteStore({ path, sweepInterval: 0 });
    assert.deepEqual({ ...(await second.get("abc"))?.data }, { n: 1, m: 2 });
  });

  it("merges patches from two store instances on one file (two processes)", async () => {
    const path = join(dir, "two.db");
    await using a = new SqliteStore({ path, sweepInterval: 0 });
    await using b = new SqliteStore({ path, sweepInterval: 0 });
    await a.create("s", rec());
    const exp = Date.now() + 60_000;
    for (let i = 0; i < 20; i++) {
      await Promise.all([a.update("s", { set: { [`a${i}`]: i }, delete: [] }, exp), b.update("s", { set: { [`b${i}`]: i }, delete: [] }, exp)]);
    }
    assert.equal(Object.keys((await a.get("s"))?.data ?? {}).length, 40);
  });

  it("treats garbage rows as absent and can replace them", async () => {
    const path = join(dir, "garbage.db");
    await using store = new SqliteStore({ path, sweepInterval: 0 });
    const raw = new Database(path);
    raw
      .prepare("INSERT INTO sessionkit_sessions (id, data, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .run("bad1", "{not json", Date.now(), Date.now() + 60_000);
    raw
      .prepare("INSERT INTO sessionkit_sessions (id, data, created_at, expires_at) VALUES (?, ?, ?, ?)")
      .run("bad2", "[1,2]", Date.now(), Date.now() + 60_000);
    raw.close();
    assert.equal(await store.get("bad1"), undefined);
    assert.equal(await store.get("bad2"), undefined);
  });

  it("opens a table made by an earlier version: rows kept, owner columns added", async () => {
    const path = join(dir, "old-schema.db");
    const raw = new Database(path);
    raw.exec(
      "CREATE TABLE sessionkit_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID",
    );
    raw.prepare("INSERT INTO sessionkit_sessions VALUES (?, ?, ?, ?)").run("old", '{"n":1}', Date.now(), Date.now() + 60_000);
    raw.close();
    await using store = new SqliteStore({ path, sweepInterval: 0 });
    const got = await store.get("old");
    assert.deepEqual({ ...got?.data }, { n: 1 });
    assert.equal(got?.owner, undefined);
    assert.equal(await store.update("old", { set: {}, delete: [], owner: "u" }, Date.now() + 60_000), true);
    assert.deepEqual(await store.listByOwner("u"), ["old"]);
  });

  it("sweeps expired rows", async () => {
    await using store = new SqliteStore({ path: ":memory:", sweepInterval: 0 });
    await store.create("old", rec({}, 1));
    await store.create("new", rec());
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(store.sweep(), 1);
  });

  it("reports STORE_UNAVAILABLE after close and rejects bad options", async () => {
    const store = new SqliteStore({ path: ":memory:", sweepInterval: 0 });
    await store.close();
    await assert.rejects(store.get("x"), { code: "STORE_UNAVAILABLE" });
    assert.throws(() => new SqliteStore({ path: ":memory:", table: "x; drop" }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new SqliteStore({}), { code: "INVALID_ARGUMENT" });
  });
});

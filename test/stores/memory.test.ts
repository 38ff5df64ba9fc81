import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runStoreConformance } from "../../src/stores/conformance.js";
import { MemoryStore } from "../../src/stores/memory.js";

runStoreConformance("MemoryStore", () => new MemoryStore({ sweepInterval: 0 }), { expirySlackMs: 20 });

const rec = (ttl = 60_000) => ({ data: {}, createdAt: Date.now(), expiresAt: Date.now() + ttl });

describe("MemoryStore bounds", () => {
  it("never holds more than maxEntries, evicting what was not used lately", async () => {
    await using store = new MemoryStore({ maxEntries: 3, sweepInterval: 0 });
    await store.create("a", rec());
    await store.create("b", rec());
    await store.create("c", rec());
    await store.get("a"); // a is now most recently used
    await store.create("d", rec());
    assert.equal(store.size, 3);
    assert.equal(await store.get("b"), undefined);
    assert.ok(await store.get("a"));
    for (let i = 0; i < 1000; i++) await store.create(`flood${i}`, rec());
    assert.equal(store.size, 3);
  });

  it("evicts sessions not in use before sessions in use (second chance)", async () => {
    await using store = new MemoryStore({ maxEntries: 4, sweepInterval: 0 });
    for (const id of ["a", "b", "c", "d"]) await store.create(id, rec());
    await store.get("a");
    await store.update("b", { set: { k: 1 }, delete: [] }, Date.now() + 60_000);
    await store.create("x", rec());
    await store.create("y", rec());
    assert.equal(store.size, 4);
    assert.equal(await store.get("c"), undefined, "c was never used");
    assert.equal(await store.get("d"), undefined, "d was never used");
    assert.ok(await store.get("a"));
    assert.equal((await store.get("b"))?.data.k, 1);
  });

  it("never changes a map a loading request may still diff against (copy on write)", async () => {
    await using store = new MemoryStore({ sweepInterval: 0 });
    const sync = MemoryStore.syncAccessOf(store)!;
    const now = Date.now();
    const later = now + 60_000;
    assert.ok(sync.createJson("s", new Map([["n", "0"]]), now, later, now));
    const a = sync.peek("s", now)!.values;
    const b = sync.peek("s", now)!.values;
    assert.ok(sync.updateJson("s", ["k", "1"], undefined, later, now, a));
    assert.deepEqual([...b], [["n", "0"]], "b's snapshot is untouched by a's write");
    assert.ok(sync.updateJson("s", ["j", "2"], ["n"], later, now, b));
    assert.deepEqual((await store.get("s"))?.data, Object.assign(Object.create(null), { k: 1, j: 2 }));
    // A read that is never released (a read-only request) keeps the next write copying.
    const c = sync.peek("s", now)!.values;
    const d = sync.peek("s", now)!.values;
    assert.ok(sync.touchSync("s", later, now, c));
    const before = [...d];
    assert.ok(sync.updateJson("s", ["x", "3"], undefined, later, now, d));
    assert.deepEqual([...c], before, "c was released by its touch, d by its write; neither saw the other's change");
    const e = sync.peek("s", now)!.values;
    const f = sync.peek("s", now)!.values;
    assert.ok(sync.updateJson("s", ["y", "4"], undefined, later, now, f));
    assert.equal(e.has("y"), false, "e still holds the map as it was loaded");
  });

  it("sweeps expired entries", async () => {
    await using store = new MemoryStore({ sweepInterval: 0 });
    await store.create("short", rec(1));
    await store.create("long", rec());
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(store.sweep(), 1);
    assert.equal(store.size, 1);
  });

  it("rejects bad options", () => {
    assert.throws(() => new MemoryStore({ maxEntries: 0 }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new MemoryStore({ sweepInterval: -1 }), { code: "INVALID_ARGUMENT" });
  });
});

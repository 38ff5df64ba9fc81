import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runStoreConformance } from "../../src/stores/conformance.js";
import { MemoryStore } from "../../src/stores/memory.js";

runStoreConformance("MemoryStore", () => new MemoryStore({ sweepInterval: 0 }), { expirySlackMs: 20 });

const rec = (ttl = 60_000) => ({ data: {}, createdAt: Date.now(), expiresAt: Date.now() + ttl });

describe("MemoryStore bounds", () => {
  it("never holds more than maxEntries, evicting the least recently used", async () => {
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

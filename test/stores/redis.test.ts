import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createClient } from "redis";
import { redisAvailability } from "../helpers/redis.js";
import { runStoreConformance } from "../../src/stores/conformance.js";
import { RedisStore } from "../../src/stores/redis.js";

const redis = await redisAvailability();
const prefix = `sk-test-${randomBytes(6).toString("hex")}:`;

runStoreConformance("RedisStore", () => new RedisStore({ url: redis.url, prefix }), { skip: redis.skip, expirySlackMs: 60 });

describe("RedisStore specifics", { skip: redis.skip }, () => {
  const raw = createClient({ url: redis.url });
  after(async () => {
    if (!raw.isOpen) return;
    for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await raw.del(keys);
    }
    await raw.close();
  });

  it("keeps one hash per session under a {id} hash tag (one cluster slot)", async () => {
    if (!raw.isOpen) await raw.connect();
    await using store = new RedisStore({ url: redis.url, prefix });
    await store.ready();
    const id = randomBytes(32).toString("base64url");
    await store.create(id, { data: { a: 1 }, createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
    const keys: string[] = [];
    for await (const batch of raw.scanIterator({ MATCH: `${prefix}*${id}*` })) keys.push(...batch);
    assert.deepEqual(keys, [`${prefix}{${id}}`]);
    assert.equal(await raw.type(keys[0]), "hash");
    const ttl = await raw.pTTL(keys[0]);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `PEXPIRE set from expiresAt (got ${ttl})`);
  });

  it("treats garbage under a session key as absent, never as an outage", async () => {
    if (!raw.isOpen) await raw.connect();
    await using store = new RedisStore({ url: redis.url, prefix });
    await store.ready();
    const ids = ["str", "hashNoMeta", "badJson", "badNumbers"].map((s) => `${s}${randomBytes(8).toString("hex")}`);
    await raw.set(store.key(ids[0]), "not a hash");
    await raw.hSet(store.key(ids[1]), { "d:x": "1" });
    await raw.hSet(store.key(ids[2]), { c: "1", e: String(Date.now() + 60_000), "d:x": "{broken" });
    await raw.hSet(store.key(ids[3]), { c: "soon", e: "later" });
    for (const id of ids) assert.equal(await store.get(id), undefined, id);
    // Not one of our hashes at all: update refuses it (the middleware never gets that far,
    // since get() already reported the session absent and a fresh id was issued).
    for (const id of ids.slice(0, 2)) {
      assert.equal(await store.update(id, { set: { y: 1 }, delete: [] }, Date.now() + 60_000), false, id);
    }
    assert.equal(await raw.get(store.key(ids[0])), "not a hash", "garbage is left alone by update");
  });

  it("fails fast with STORE_UNAVAILABLE when Redis cannot be reached", async () => {
    await using store = new RedisStore({ url: "redis://127.0.0.1:1", prefix, commandTimeout: 300 });
    await assert.rejects(store.get("x"), { code: "STORE_UNAVAILABLE" });
  });

  it("settles ready() on the first attempt and fails fast while Redis is down at start", async () => {
    // A port where nothing listens: every connection attempt is refused at once.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    // A long command timeout: failing fast must not come from waiting for it.
    await using store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 10_000 });
    const t0 = performance.now();
    const settled = await Promise.race([store.ready().then(() => "settled"), sleep(3000).then(() => "pending")]);
    assert.equal(settled, "settled", "ready() settles although the first attempt failed");
    for (const call of [() => store.get("x"), () => store.create("x", { data: {}, createdAt: Date.now(), expiresAt: Date.now() + 1000 })]) {
      const t1 = performance.now();
      await assert.rejects(call(), { code: "STORE_UNAVAILABLE" });
      assert.ok(performance.now() - t1 < 1000, `failed fast (${(performance.now() - t1).toFixed(0)} ms), not after the 10 s command timeout`);
    }
    assert.ok(performance.now() - t0 < 4000);
  });

  it("refuses ambiguous options", () => {
    assert.throws(() => new RedisStore({}), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new RedisStore({ url: redis.url, client: {} as never }), { code: "INVALID_ARGUMENT" });
  });
});

/**
 * The coordinator contract, run over every backend (memory, SQLite file, real Redis): the
 * lock and its lease, compare-and-set of the shared state, notifications to watchers, and
 * the shared rate-limit gates.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { assertCoordinator, CoordinatorUnavailableError, type CredentialCoordinator } from "../../src/login/coordinator.js";
import { RedisCoordinator } from "../../src/login/coordinators/redis.js";
import { SqliteCoordinator } from "../../src/login/coordinators/sqlite.js";
import { backends, REDIS_URL, tmpDir } from "./helpers/fleet-backends.js";

const tmp = tmpDir();
after(tmp.cleanup);
const dir = tmp.dir;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const [name, make] of Object.entries(backends(() => dir))) {
  describe(`coordinator contract: ${name}`, () => {
    let a: CredentialCoordinator;
    let b: CredentialCoordinator;
    afterEach(async () => {
      await a.close();
      if (b !== a) await b.close();
    });
    const open = () => {
      [a, b] = make();
    };

    it("passes the shape check", () => {
      open();
      assertCoordinator(a);
    });

    it("compare-and-set: first write at version 0, then only at the current version", async () => {
      open();
      assert.equal(await a.read("k"), null);
      const first = await a.write("k", 0, "s1");
      assert.equal(first?.version, 1);
      assert.equal(await b.write("k", 0, "other"), null, "a second first write loses");
      const seen = await b.read("k");
      assert.equal(seen?.version, 1);
      assert.equal(seen?.value, "s1");
      assert.equal((await b.write("k", 1, "s2"))?.version, 2);
      assert.equal(await a.write("k", 1, "stale"), null, "a write on an old version loses");
      assert.equal((await a.read("k"))?.value, "s2");
      // Unconditional write (a login or logout) and the "ended" state.
      assert.equal((await a.write("k", null, null))?.version, 3);
      const ended = await b.read("k");
      assert.equal(ended?.value, null);
      assert.equal(ended?.version, 3);
      assert.equal(await a.read("other-key"), null, "keys are separate");
    });

    it("exactly one of many concurrent compare-and-sets wins", async () => {
      open();
      await a.write("k", 0, "base");
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).write("k", 1, `w${i}`)));
      assert.equal(results.filter((r) => r !== null).length, 1);
      assert.equal((await a.read("k"))?.version, 2);
    });

    it("lock: one holder; a release lets the next one in; a stale token cannot release", async () => {
      open();
      const l1 = await a.acquire("k", 5000);
      assert.ok(l1);
      assert.equal(await b.acquire("k", 5000), null);
      assert.equal(await b.extend({ key: "k", token: "not-the-holder" }, 5000), false);
      await b.release({ key: "k", token: "not-the-holder" });
      assert.equal(await b.acquire("k", 5000), null, "a foreign release did not free the lock");
      assert.equal(await a.extend(l1, 5000), true);
      await a.release(l1);
      const l2 = await b.acquire("k", 5000);
      assert.ok(l2);
      await a.release(l1); // the old holder, late: must not free l2
      assert.equal(await a.acquire("k", 5000), null);
      await b.release(l2);
      // The lock row does not count as state.
      assert.equal(await a.read("k"), null);
      assert.equal((await a.write("k", 0, "v"))?.version, 1);
    });

    it("a lease lapses by itself (a holder that died), and the lapsed holder can no longer extend it", async () => {
      open();
      const dead = await a.acquire("k", 150);
      assert.ok(dead);
      assert.equal(await b.acquire("k", 5000), null);
      await sleep(250);
      const next = await b.acquire("k", 5000);
      assert.ok(next, "the lock is free once the lease ran out");
      assert.equal(await a.extend(dead, 5000), false);
      await b.release(next);
    });

    it("watchers are told of a write and of a release (or poll and see it)", async () => {
      open();
      const watch = b.watch("k");
      try {
        // Let a Redis subscription become live, then drain that first wake-up.
        await watch.next(300);
        await watch.next(300);
        const lease = await a.acquire("k", 5000);
        assert.ok(lease);
        const woken = watch.next(10_000).then(() => "woken");
        await a.write("k", 0, "new");
        assert.equal(await woken, "woken");
        assert.equal((await b.read("k"))?.value, "new");
        const released = watch.next(10_000).then(() => "woken");
        await a.release(lease);
        assert.equal(await released, "woken");
        assert.ok(await b.acquire("k", 5000));
      } finally {
        watch.close();
      }
    });

    it("gates: the longest wait wins and every handle sees it", async () => {
      open();
      assert.equal(await b.readGate("k", "login"), 0);
      const until = Date.now() + 60_000;
      await a.raiseGate("k", "login", until);
      await a.raiseGate("k", "login", until - 30_000);
      assert.equal(await b.readGate("k", "login"), until);
      assert.equal(await b.readGate("k", "refresh"), 0, "gates are per name");
    });

    it("fails with COORDINATOR_UNAVAILABLE once closed", async () => {
      open();
      await a.close();
      await assert.rejects(a.read("k"), (e: unknown) => e instanceof CoordinatorUnavailableError && e.code === "COORDINATOR_UNAVAILABLE");
    });
  });
}

describe("Redis pub/sub", () => {
  it("wakes a waiter on another connection by pub/sub, not by its poll (pollMs set to a minute)", async () => {
    const prefix = `sk-test:${Date.now()}-${Math.random()}:`;
    const a = new RedisCoordinator({ url: REDIS_URL, prefix });
    const b = new RedisCoordinator({ url: REDIS_URL, prefix, pollMs: 60_000 });
    const watch = b.watch("k");
    try {
      await b.read("k");
      // The first next() returns once the subscription is live (see RedisCoordinator.watch).
      await watch.next(60_000);
      const woken = watch.next(60_000).then(() => "woken");
      await a.write("k", 0, "v");
      const outcome = await Promise.race([woken, sleep(5000).then(() => "not woken: pub/sub did not arrive")]);
      assert.equal(outcome, "woken");
      const lease = await a.acquire("k", 5000);
      const released = watch.next(60_000).then(() => "woken");
      await a.release(lease!);
      assert.equal(await Promise.race([released, sleep(5000).then(() => "not woken")]), "woken");
    } finally {
      watch.close();
      await a.close();
      await b.close();
    }
  });
});

describe("coordinator options", () => {
  it("refuses malformed options and coordinators early", () => {
    assert.throws(() => new SqliteCoordinator({}), /exactly one of path or database/);
    assert.throws(() => new SqliteCoordinator({ path: join(dir, "x.db"), table: "bad name" }), /table/);
    assert.throws(() => new RedisCoordinator({}), /exactly one of url or client/);
    assert.throws(() => assertCoordinator({ read() {} }), /write\(\)/);
  });

  it("Redis down: commands fail with COORDINATOR_UNAVAILABLE instead of hanging", async () => {
    const c = new RedisCoordinator({ url: "redis://127.0.0.1:1", commandTimeout: 300 });
    try {
      await assert.rejects(c.read("k"), CoordinatorUnavailableError);
    } finally {
      await c.close();
    }
  });
});

/**
 * The store conformance suite. Every bundled store runs it, and third-party store authors
 * run it the same way:
 *
 *   import { runStoreConformance } from "sessionkit/stores/conformance";
 *   runStoreConformance("MyStore", () => new MyStore(...));
 *
 * (a `*.test.ts` file run with `node --test`). Each case gets a fresh store from the
 * factory, uses random ids, destroys what it created and closes the store.
 *
 * The optional parts of the contract (`list`/`count`/`clear`, the owner index) are tested
 * when the store has them and skipped, with a message, when it does not. The `clear` case
 * empties the store: point the factory at a database (or prefix) kept for tests.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { assertSessionStore, type SessionStore, type StoredSession } from "./contract.js";

export interface ConformanceOptions {
  /** Skip the whole suite, with this message shown by the test runner. */
  skip?: string | boolean;
  /** Resolution of the store's expiry in ms (waits are this long past expiry). @default 60 */
  expirySlackMs?: number;
}

type Factory = () => SessionStore | Promise<SessionStore>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newId = () => randomBytes(32).toString("base64url");

function record(data: Record<string, unknown>, ttlMs = 60_000): StoredSession {
  const now = Date.now();
  return { data: data as StoredSession["data"], createdAt: now, expiresAt: now + ttlMs };
}

export function runStoreConformance(name: string, factory: Factory, options: ConformanceOptions = {}): void {
  const slack = options.expirySlackMs ?? 60;

  /** Runs `body` with a fresh store and ids that are destroyed afterwards. */
  const withStore = (body: (store: SessionStore, id: () => string, t: TestContext) => Promise<void>) => async (t: TestContext) => {
    const store = await factory();
    const ids: string[] = [];
    try {
      await body(
        store,
        () => {
          const id = newId();
          ids.push(id);
          return id;
        },
        t,
      );
    } finally {
      for (const id of ids) await store.destroy(id).catch(() => undefined);
      await store.close();
    }
  };

  describe(`SessionStore conformance: ${name}`, { skip: options.skip }, () => {
    it(
      "has every method of the contract",
      withStore(async (store) => {
        assertSessionStore(store);
      }),
    );

    it(
      "returns undefined for an unknown id",
      withStore(async (store, id) => {
        assert.equal(await store.get(id()), undefined);
      }),
    );

    it(
      "round-trips data, createdAt and expiresAt",
      withStore(async (store, id) => {
        const sid = id();
        const data = {
          str: 'héllo ✓ \u0000 "quoted"',
          num: 42.5,
          neg: -0.001,
          bool: false,
          nil: null,
          list: [1, "two", { three: [3] }],
          nested: { a: { b: { c: "deep" } } },
          "key with spaces:and:colons": 1,
          "": "empty key",
        };
        // A "__proto__" key must be plain data in every store (no prototype pollution).
        Object.defineProperty(data, "__proto__", { value: "not a prototype", enumerable: true, writable: true });
        const rec = record(data);
        assert.equal(await store.create(sid, rec), true);
        const got = await store.get(sid);
        assert.ok(got, "created session must be readable");
        assert.deepEqual({ ...got.data }, { ...data });
        assert.equal(Object.getPrototypeOf(got.data) === null || Object.getPrototypeOf(got.data) === Object.prototype, true);
        assert.equal(Object.prototype.hasOwnProperty.call(got.data, "__proto__"), true);
        assert.equal(got.createdAt, rec.createdAt);
        assert.equal(got.expiresAt, rec.expiresAt);
      }),
    );

    it(
      "keeps sessions apart",
      withStore(async (store, id) => {
        const a = id();
        const b = id();
        await store.create(a, record({ who: "a" }));
        await store.create(b, record({ who: "b" }));
        assert.equal((await store.get(a))?.data.who, "a");
        assert.equal((await store.get(b))?.data.who, "b");
      }),
    );

    it(
      "never overwrites on create",
      withStore(async (store, id) => {
        const sid = id();
        assert.equal(await store.create(sid, record({ v: 1 })), true);
        assert.equal(await store.create(sid, record({ v: 2, other: true })), false);
        assert.deepEqual({ ...(await store.get(sid))?.data }, { v: 1 });
      }),
    );

    it(
      "applies a patch: sets, replaces and deletes keys, keeps the rest",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ keep: 1, change: 1, drop: 1 }));
        const expiresAt = Date.now() + 120_000;
        assert.equal(await store.update(sid, { set: { change: 2, added: [true] }, delete: ["drop", "never-there"] }, expiresAt), true);
        const got = await store.get(sid);
        assert.deepEqual({ ...got?.data }, { keep: 1, change: 2, added: [true] });
        assert.equal(got?.expiresAt, expiresAt);
      }),
    );

    it(
      "merges concurrent patches to different keys (no lost updates)",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ base: 0 }));
        const exp = Date.now() + 60_000;
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.update(sid, { set: { [`k${i}`]: i }, delete: [] }, exp)));
        assert.ok(results.every((r) => r === true));
        const got = await store.get(sid);
        assert.equal(Object.keys(got?.data ?? {}).length, 21);
        for (let i = 0; i < 20; i++) assert.equal(got?.data[`k${i}`], i);
      }),
    );

    it(
      "does not create on update or touch of an unknown id",
      withStore(async (store, id) => {
        const sid = id();
        assert.equal(await store.update(sid, { set: { x: 1 }, delete: [] }, Date.now() + 60_000), false);
        assert.equal(await store.touch(sid, Date.now() + 60_000), false);
        assert.equal(await store.get(sid), undefined);
      }),
    );

    it(
      "destroys, and a later update never brings the session back",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ user: "u1" }));
        await store.destroy(sid);
        assert.equal(await store.get(sid), undefined);
        assert.equal(await store.update(sid, { set: { late: true }, delete: [] }, Date.now() + 60_000), false);
        assert.equal(await store.touch(sid, Date.now() + 60_000), false);
        assert.equal(await store.get(sid), undefined);
        await store.destroy(sid); // destroying twice is fine
      }),
    );

    it(
      "stays destroyed when destroy races with updates",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ user: "u1" }));
        const exp = Date.now() + 60_000;
        await Promise.all([
          store.update(sid, { set: { a: 1 }, delete: [] }, exp),
          store.destroy(sid),
          store.update(sid, { set: { b: 1 }, delete: [] }, exp),
          store.touch(sid, exp),
        ]);
        assert.equal(await store.get(sid), undefined);
      }),
    );

    it(
      "expires entries at expiresAt",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ v: 1 }, 150));
        assert.ok(await store.get(sid));
        await sleep(150 + slack);
        assert.equal(await store.get(sid), undefined);
        assert.equal(await store.update(sid, { set: { v: 2 }, delete: [] }, Date.now() + 60_000), false);
        assert.equal(await store.get(sid), undefined);
      }),
    );

    it(
      "touch extends the expiry of a live entry",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ v: 1 }, 200));
        const later = Date.now() + 60_000;
        assert.equal(await store.touch(sid, later), true);
        await sleep(200 + slack);
        const got = await store.get(sid);
        assert.equal(got?.expiresAt, later);
        assert.deepEqual({ ...got?.data }, { v: 1 });
      }),
    );

    it(
      "update extends the expiry too",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ v: 1 }, 200));
        assert.equal(await store.update(sid, { set: { v: 2 }, delete: [] }, Date.now() + 60_000), true);
        await sleep(200 + slack);
        assert.equal((await store.get(sid))?.data.v, 2);
      }),
    );

    it(
      "keeps an entry whose every data key was deleted",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ only: 1 }));
        assert.equal(await store.update(sid, { set: {}, delete: ["only"] }, Date.now() + 60_000), true);
        const got = await store.get(sid);
        assert.ok(got, "an emptied session still exists until destroyed");
        assert.deepEqual({ ...got.data }, {});
      }),
    );

    it(
      "returns copies: changing a result does not change the store",
      withStore(async (store, id) => {
        const sid = id();
        await store.create(sid, record({ list: [1] }));
        const got = await store.get(sid);
        (got?.data.list as number[]).push(2);
        assert.deepEqual((await store.get(sid))?.data.list, [1]);
      }),
    );

    it(
      "keeps maxAge with the entry, and a patch changes or removes it",
      withStore(async (store, id) => {
        const sid = id();
        assert.equal(await store.create(sid, { ...record({ v: 1 }), maxAge: 2_592_000_000 }), true);
        assert.equal((await store.get(sid))?.maxAge, 2_592_000_000);
        assert.equal(await store.update(sid, { set: {}, delete: [], maxAge: 900_000 }, Date.now() + 60_000), true);
        assert.equal((await store.get(sid))?.maxAge, 900_000);
        assert.equal(await store.update(sid, { set: { v: 2 }, delete: [] }, Date.now() + 60_000), true);
        assert.equal((await store.get(sid))?.maxAge, 900_000, "a patch without maxAge leaves it");
        assert.equal(await store.update(sid, { set: {}, delete: [], maxAge: null }, Date.now() + 60_000), true);
        assert.equal((await store.get(sid))?.maxAge, undefined);
      }),
    );

    it(
      "lists and counts live sessions (optional list/count)",
      withStore(async (store, id, t) => {
        if (typeof store.list !== "function" || typeof store.count !== "function") return t.skip("the store has no list()/count()");
        const before = await store.count();
        const ids = [id(), id(), id()];
        for (const sid of ids) await store.create(sid, record({}));
        await store.create(id(), record({}, 100));
        await sleep(100 + slack);
        const listed = await store.list();
        for (const sid of ids) assert.ok(listed.includes(sid), "a live session is listed");
        assert.equal(new Set(listed).size, listed.length, "no id twice");
        assert.equal(await store.count(), before + 3, "expired sessions are not counted");
        await store.destroy(ids[0]);
        assert.equal((await store.list()).includes(ids[0]), false);
        assert.equal(await store.count(), before + 2);
      }),
    );

    it(
      "clears every session and the owner index (optional clear)",
      withStore(async (store, id, t) => {
        if (typeof store.clear !== "function") return t.skip("the store has no clear()");
        const owner = `owner-${newId()}`;
        const a = id();
        const b = id();
        await store.create(a, record({ x: 1 }));
        await store.create(b, typeof store.destroyByOwner === "function" ? { ...record({}), owner } : record({}));
        await store.clear();
        assert.equal(await store.get(a), undefined);
        assert.equal(await store.get(b), undefined);
        if (typeof store.count === "function") assert.equal(await store.count(), 0);
        if (typeof store.listByOwner === "function") assert.deepEqual(await store.listByOwner(owner), []);
      }),
    );

    it(
      "keeps an owner index: create, change, remove, destroy and expiry (optional listByOwner/destroyByOwner)",
      withStore(async (store, id, t) => {
        if (typeof store.listByOwner !== "function" || typeof store.destroyByOwner !== "function") {
          return t.skip("the store has no owner index (listByOwner/destroyByOwner)");
        }
        const alice = `alice-${newId()}`;
        const bob = `bob-${newId()}`;
        const [a1, a2, b1, moved, short] = [id(), id(), id(), id(), id()];
        await store.create(a1, { ...record({ n: 1 }), owner: alice });
        await store.create(a2, { ...record({}), owner: alice });
        await store.create(b1, { ...record({}), owner: bob });
        await store.create(moved, record({}));
        assert.equal((await store.get(a1))?.owner, alice);
        assert.equal((await store.get(moved))?.owner, undefined);
        const sorted = async (owner: string) => (await store.listByOwner!(owner)).sort();
        assert.deepEqual(await sorted(alice), [a1, a2].sort());

        // A patch gives an owner, moves it to another, and removes it.
        assert.equal(await store.update(moved, { set: {}, delete: [], owner: alice }, Date.now() + 60_000), true);
        assert.equal((await store.get(moved))?.owner, alice);
        assert.equal(await store.update(moved, { set: { k: 1 }, delete: [], owner: bob }, Date.now() + 60_000), true);
        assert.deepEqual(await sorted(bob), [b1, moved].sort());
        assert.equal((await store.listByOwner(alice)).includes(moved), false, "moved out of the old owner's index");
        assert.equal(await store.update(moved, { set: {}, delete: [], owner: null }, Date.now() + 60_000), true);
        assert.equal((await store.get(moved))?.owner, undefined);
        assert.deepEqual(await store.listByOwner(bob), [b1]);
        assert.equal(await store.touch(a2, Date.now() + 60_000), true);
        assert.equal((await store.get(a2))?.owner, alice, "touch and patches without owner leave it");

        // Destroyed and expired sessions leave the index.
        await store.destroy(a2);
        await store.create(short, { ...record({}, 100), owner: alice });
        await sleep(100 + slack);
        assert.deepEqual(await store.listByOwner(alice), [a1]);

        // destroyByOwner ends exactly that owner's live sessions.
        await store.create(a2, { ...record({}), owner: alice });
        const ended = (await store.destroyByOwner(alice)).sort();
        assert.deepEqual(ended, [a1, a2].sort());
        assert.equal(await store.get(a1), undefined);
        assert.equal(await store.get(a2), undefined);
        assert.deepEqual(await store.listByOwner(alice), []);
        assert.deepEqual(await store.destroyByOwner(alice), []);
        assert.ok(await store.get(b1), "another owner's session is untouched");
        assert.ok(await store.get(moved), "an unowned session is untouched");
      }),
    );

    it("closes idempotently and supports Symbol.asyncDispose", async () => {
      const store = await factory();
      assert.equal(typeof store[Symbol.asyncDispose], "function");
      await store.close();
      await store.close();
    });
  });
}

/**
 * The store conformance suite. Every bundled store runs it, and third-party store authors
 * run it the same way:
 *
 *   import { runStoreConformance } from "sessionkit/stores/conformance";
 *   runStoreConformance("MyStore", () => new MyStore(...));
 *
 * (a `*.test.ts` file run with `node --test`). Each case gets a fresh store from the
 * factory, uses random ids, destroys what it created and closes the store.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
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
  const withStore = (body: (store: SessionStore, id: () => string) => Promise<void>) => async () => {
    const store = await factory();
    const ids: string[] = [];
    try {
      await body(store, () => {
        const id = newId();
        ids.push(id);
        return id;
      });
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

    it("closes idempotently and supports Symbol.asyncDispose", async () => {
      const store = await factory();
      assert.equal(typeof store[Symbol.asyncDispose], "function");
      await store.close();
      await store.close();
    });
  });
}

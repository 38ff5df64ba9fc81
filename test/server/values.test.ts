/**
 * Session values beyond JSON (issue 16): Date, Map, Set, BigInt, Uint8Array, Buffer and
 * undefined round-trip through the middleware on every bundled store (memory, SQLite,
 * Redis), across requests; plain JSON stored by earlier versions reads the same; anything
 * else is still INVALID_SESSION_VALUE.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MemoryStore, sessionData, sessionMiddleware, type SessionStore } from "../../src/server/index.js";
import { decodeValue, encodeValue } from "../../src/server/values.js";
import { CookieSigner } from "../../src/server/cookie.js";
import { RedisStore } from "../../src/stores/redis.js";
import { SqliteStore } from "../../src/stores/sqlite.js";
import { redisAvailability } from "../helpers/redis.js";
import { Client, SECRET, startServer } from "./helpers.js";

const redis = await redisAvailability();
const dir = mkdtempSync(join(tmpdir(), "sessionkit-values-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every supported kind, nested in each other. */
function rich() {
  const nested = { when: new Date(Date.UTC(2026, 11, 4, 12, 0, 0, 123)), gone: undefined, n: 1 };
  return {
    date: new Date(Date.UTC(2001, 0, 1)),
    invalidDate: new Date(NaN),
    big: 12345678901234567890123n,
    negBig: -5n,
    bytes: new Uint8Array([0, 1, 2, 253, 254, 255]),
    buffer: Buffer.from("héllo"),
    map: new Map<unknown, unknown>([
      ["a", 1],
      [2, new Set([new Date(0), 3n])],
      [{ k: "object key" }, [undefined, null]],
    ]),
    set: new Set(["x", 1, nested]),
    obj: nested,
    arr: [1, undefined, new Date(5), [new Uint8Array([9])]],
    undef: undefined,
    escapedTag: { $t: "Date", v: "not a tag: plain data" },
    escapedEnvelope: { $sk: 1, v: "not an envelope: plain data" },
    plain: { list: [1, "two", { three: true }] },
  };
}

const factories: [string, () => SessionStore | Promise<SessionStore>, string | boolean | undefined][] = [
  ["MemoryStore", () => new MemoryStore({ sweepInterval: 0 }), undefined],
  ["SqliteStore", () => new SqliteStore({ path: join(dir, `v-${randomBytes(4).toString("hex")}.db`), sweepInterval: 0 }), undefined],
  [
    "RedisStore",
    () => new RedisStore({ url: redis.url ?? "redis://127.0.0.1:6379", prefix: `sk-values-${randomBytes(6).toString("hex")}:` }),
    redis.skip,
  ],
];

for (const [name, factory, skip] of factories) {
  describe(`values beyond JSON through ${name}`, { skip }, () => {
    it("round-trip across requests, and in-place changes are saved", async () => {
      const store = await factory();
      await using mw = sessionMiddleware({ secret: SECRET, store });
      const seen: unknown[] = [];
      await using server = await startServer(
        mw.node((req: IncomingMessage, res: ServerResponse) => {
          const s = sessionData(req);
          const step = req.url;
          if (step === "/write") for (const [k, v] of Object.entries(rich())) s.set(k, v as never);
          if (step === "/mutate") {
            (s.get("arr") as unknown[]).push(new Date(7)); // in place, no set()
            (s.get("map") as Map<unknown, unknown>).set("added", 99n);
          }
          if (step === "/read") seen.push(Object.fromEntries(s.entries()));
          res.end("ok");
        }),
      );
      const c = new Client(server.url);
      await c.get("/write");
      await c.get("/read");
      const got = seen[0] as ReturnType<typeof rich>;
      // Two invalid dates are never deepStrictEqual (NaN !== NaN): compared on their own.
      assert.ok(got.invalidDate instanceof Date && Number.isNaN(got.invalidDate.getTime()));
      const { invalidDate: _a, ...gotRest } = got;
      const { invalidDate: _b, ...wantRest } = rich();
      assert.deepStrictEqual(gotRest, wantRest);
      assert.ok(got.date instanceof Date && got.bytes instanceof Uint8Array && !Buffer.isBuffer(got.bytes));
      assert.ok(Buffer.isBuffer(got.buffer));
      assert.ok("gone" in got.obj && "undef" in got, "undefined keys are kept");
      await c.get("/mutate");
      await c.get("/read");
      const changed = seen[1] as ReturnType<typeof rich>;
      assert.deepStrictEqual(changed.arr.at(-1), new Date(7));
      assert.equal(changed.map.get("added"), 99n);
      if ("clear" in store && typeof store.clear === "function") await store.clear();
      await store.close();
    });

    it("reads plain JSON sessions stored before the encoding existed", async () => {
      const store = await factory();
      await using mw = sessionMiddleware({ secret: SECRET, store });
      let read: unknown;
      await using server = await startServer(
        mw.node((req, res) => {
          const s = sessionData(req);
          if (req.url === "/start") s.set("seed", 1);
          else read = Object.fromEntries(s.entries());
          res.end("ok");
        }),
      );
      const c = new Client(server.url);
      await c.get("/start");
      const id = (await mw.readSession(`sid=${c.cookie}`))?.id ?? "";
      // What an earlier version wrote: plain JSON, including strings that look like dates
      // and objects with "$t" keys (only a top-level {"$sk": <n>, "v": ...} is an envelope).
      const old = { when: "2020-01-01T00:00:00.000Z", tagLike: { $t: "Date", v: 0 }, list: [1, { a: null }] };
      assert.equal(await store.update(id, { set: old, delete: ["seed"] }, Date.now() + 60_000), true);
      await c.get("/read");
      assert.deepStrictEqual(read, old);
      if ("clear" in store && typeof store.clear === "function") await store.clear();
      await store.close();
    });
  });
}

describe("an undecodable stored value", () => {
  for (const [name, makeStore] of [
    ["MemoryStore (sync path)", () => new MemoryStore({ sweepInterval: 0 })],
    ["SqliteStore (contract path)", () => new SqliteStore({ path: ":memory:", sweepInterval: 0 })],
  ] as const) {
    it(`makes the session absent and reaches onError, never a failed request (${name})`, async () => {
      const store = makeStore();
      const errors: unknown[] = [];
      await using mw = sessionMiddleware({ secret: SECRET, store, onError: (e) => errors.push(e) });
      const id = randomBytes(32).toString("base64url");
      const now = Date.now();
      await store.create(id, { data: { ok: 1, future: { $sk: 9, v: "from a newer version" } }, createdAt: now, expiresAt: now + 60_000 });
      await using server = await startServer(mw.node((req, res) => res.end(String(sessionData(req).get("ok")))));
      const c = new Client(server.url);
      c.cookie = new CookieSigner([Buffer.from(SECRET)]).sign(id);
      const r = await c.get("/");
      assert.equal(r.status, 200);
      assert.equal(r.body, "undefined", "read as a new, empty session");
      assert.equal((errors[0] as { code?: string }).code, "INVALID_SESSION_VALUE");
      await store.close();
    });
  }
});

describe("a value made unstorable in place after set()", () => {
  it("fails the response with INVALID_SESSION_VALUE at commit, never dropping data silently", async () => {
    const errors: unknown[] = [];
    await using mw = sessionMiddleware({ secret: SECRET, onError: (e) => errors.push(e) });
    await using server = await startServer(
      mw.node((req, res) => {
        const s = sessionData(req);
        s.set("list", []);
        (s.get("list") as unknown[]).push(() => "a function"); // JSON.stringify would drop it
        res.end("ok");
      }),
    );
    const r = await new Client(server.url).get("/");
    assert.equal(r.status, 500);
    assert.deepEqual(r.setCookie, []);
    assert.equal((errors[0] as { code?: string }).code, "INVALID_SESSION_VALUE");
  });
});

describe("the value encoding", () => {
  it("leaves plain JSON as it is, envelopes the rest with a version", () => {
    const plain = { a: [1, { b: "c" }] };
    assert.equal(encodeValue("k", plain), plain, "plain JSON is stored as before, not copied");
    assert.equal(encodeValue("k", "s"), "s");
    assert.deepEqual(JSON.parse(JSON.stringify(encodeValue("k", new Date(5)))), { $sk: 1, v: { $t: "Date", v: 5 } });
    assert.deepEqual(JSON.parse(JSON.stringify(encodeValue("k", { $sk: 2 }))), { $sk: 1, v: { $sk: 2 } });
    assert.deepStrictEqual(decodeValue(JSON.parse(JSON.stringify(encodeValue("k", { $sk: 2 })))), { $sk: 2 });
  });

  it("refuses an envelope of an unknown version or a malformed one, clearly", () => {
    assert.throws(() => decodeValue({ $sk: 2, v: 1 }), { code: "INVALID_SESSION_VALUE", message: /encoding 2.*reads 1/ });
    assert.throws(() => decodeValue({ $sk: 1, v: { $t: "Nope" } }), { code: "INVALID_SESSION_VALUE", message: /unknown tag/ });
    assert.throws(() => decodeValue({ $sk: 1, v: { $t: "BigInt", v: "1.5" } }), { code: "INVALID_SESSION_VALUE" });
  });

  it("still refuses what cannot round-trip, naming the key and what is supported", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [() => 1, Symbol("x"), NaN, new (class Point {})(), new Float32Array(2), cyclic, new Map([[1, () => 2]])]) {
      assert.throws(
        () => encodeValue("cart", bad),
        (e: Error & { code?: string }) => {
          return e.code === "INVALID_SESSION_VALUE" && e.message.includes('"cart"') && e.message.includes("supported: JSON values, Date, Map");
        },
      );
    }
  });
});

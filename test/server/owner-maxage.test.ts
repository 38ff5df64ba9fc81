/**
 * Per-session lifetime (`session.setMaxAge`, within `maxAgeBounds`) and the owner calls'
 * errors, through the middleware on the memory and SQLite stores (the sync and the
 * contract paths of the engine).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MemoryStore, sessionData, sessionMiddleware, type SessionStore } from "../../src/server/index.js";
import { SqliteStore } from "../../src/stores/sqlite.js";
import { Client, SECRET, sleep, startServer } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "sessionkit-maxage-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** /remember?ms=N sets the lifetime; / counts; every answer is "count maxAge". */
function app(req: IncomingMessage, res: ServerResponse): void {
  const s = sessionData(req);
  const url = new URL(req.url ?? "/", "http://x");
  try {
    if (url.pathname === "/remember") s.setMaxAge(Number(url.searchParams.get("ms")));
    if (url.pathname === "/forget") s.setMaxAge(undefined);
  } catch (e) {
    res.statusCode = 400;
    res.end((e as { code: string }).code);
    return;
  }
  s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
  res.end(`${String(s.get("n"))} ${String(s.maxAge)}`);
}

const stores: [string, () => SessionStore][] = [
  ["MemoryStore", () => new MemoryStore({ sweepInterval: 0 })],
  ["SqliteStore", () => new SqliteStore({ path: join(dir, `m-${n++}.db`), sweepInterval: 0 })],
];

for (const [name, makeStore] of stores) {
  describe(`session.setMaxAge on ${name}`, () => {
    it("outlives the server's idle and absolute timeouts when longer (remember me)", async () => {
      const store = makeStore();
      await using mw = sessionMiddleware({ secret: SECRET, store, idleTimeout: 300, absoluteTimeout: 600, maxAgeBounds: { max: 5000 } });
      await using server = await startServer(mw.node(app));
      const remembered = new Client(server.url);
      const plain = new Client(server.url);
      const r = await remembered.get("/remember?ms=3000");
      assert.equal(r.body, "1 3000");
      assert.match(r.setCookie[0] ?? "", /; Max-Age=3;/, "the cookie carries the session's own lifetime");
      await plain.get("/");
      await sleep(450); // past the server's idle timeout
      assert.equal((await plain.get("/")).body, "1 undefined", "the ordinary session expired");
      assert.equal((await remembered.get("/")).body, "2 3000", "the remembered one lives on, its lifetime kept");
      await sleep(400); // now past the server's absolute timeout too
      assert.equal((await remembered.get("/")).body, "3 3000");
      await store.close();
    });

    it("expires sooner when shorter, and undefined goes back to the server's timeouts", async () => {
      const store = makeStore();
      await using mw = sessionMiddleware({ secret: SECRET, store, idleTimeout: 60_000, maxAgeBounds: { min: 100 } });
      await using server = await startServer(mw.node(app));
      const c = new Client(server.url);
      assert.equal((await c.get("/remember?ms=250")).body, "1 250");
      await sleep(400);
      assert.equal((await c.get("/")).body, "1 undefined", "idle for longer than its own 250 ms: gone");
      await c.get("/remember?ms=250");
      const back = await c.get("/forget");
      assert.equal(back.body, "3 undefined");
      assert.match(back.setCookie[0] ?? "", /; Max-Age=60;/);
      await sleep(400);
      assert.equal((await c.get("/")).body, "4 undefined", "the server's 60 s idle timeout applies again");
      await store.close();
    });

    it("refuses lifetimes outside maxAgeBounds (by default, above absoluteTimeout)", async () => {
      const store = makeStore();
      await using mw = sessionMiddleware({ secret: SECRET, store, absoluteTimeout: 10_000 });
      await using server = await startServer(mw.node(app));
      const c = new Client(server.url);
      assert.equal((await c.get("/remember?ms=20000")).body, "INVALID_ARGUMENT");
      assert.equal((await c.get("/remember?ms=10")).body, "INVALID_ARGUMENT");
      assert.equal((await c.get("/remember?ms=NaN")).body, "INVALID_ARGUMENT");
      assert.equal((await c.get("/remember?ms=5000")).body, "1 5000");
      await store.close();
    });
  });
}

describe("owner calls: errors", () => {
  it("refuses a bad owner, and an owner on a store without an owner index", async () => {
    const inner = new MemoryStore({ sweepInterval: 0 });
    // A third-party store that implements only the required contract.
    const bare: SessionStore = {
      get: (id) => inner.get(id),
      create: (id, s) => inner.create(id, s),
      update: (id, p, e) => inner.update(id, p, e),
      touch: (id, e) => inner.touch(id, e),
      destroy: (id) => inner.destroy(id),
      close: () => inner.close(),
      [Symbol.asyncDispose]: () => inner.close(),
    };
    const codes: string[] = [];
    await using mwBare = sessionMiddleware({ secret: SECRET, store: bare });
    await using server = await startServer(
      mwBare.node((req, res) => {
        try {
          sessionData(req).setOwner("u1");
        } catch (e) {
          codes.push((e as { code: string }).code);
        }
        res.end();
      }),
    );
    await new Client(server.url).get("/");
    assert.deepEqual(codes, ["STORE_CONTRACT"]);
    await assert.rejects(mwBare.revokeOwner("u1"), { code: "STORE_CONTRACT" });

    await using mw = sessionMiddleware({ secret: SECRET });
    await using server2 = await startServer(
      mw.node((req, res) => {
        for (const bad of ["", 42, "x".repeat(1025)]) {
          try {
            sessionData(req).setOwner(bad as never);
          } catch (e) {
            codes.push((e as { code: string }).code);
          }
        }
        res.end();
      }),
    );
    await new Client(server2.url).get("/");
    assert.deepEqual(codes.slice(1), ["INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT"]);
    await assert.rejects(mw.revokeOwner(""), { code: "INVALID_ARGUMENT" });
    await inner.close();
  });
});

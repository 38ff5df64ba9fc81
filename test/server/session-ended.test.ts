/**
 * For code outside the request path (the realtime server): `readSession(cookieHeader)`
 * and `onSessionEnded(listener)`, with `setOwner` / `revokeOwner`, on the default
 * MemoryStore and across two RedisStore instances (two nodes) sharing one Redis.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { sessionData, sessionMiddleware, type SessionEndedEvent, type SessionMiddleware } from "../../src/server/index.js";
import { RedisStore } from "../../src/stores/redis.js";
import { SqliteStore } from "../../src/stores/sqlite.js";
import { redisAvailability } from "../helpers/redis.js";
import { Client, SECRET, sleep, startServer } from "./helpers.js";

/** /login?user=u sets the owner and regenerates, /logout destroys, /regen regenerates, / counts. */
function app(req: IncomingMessage, res: ServerResponse): void {
  void (async () => {
    const s = sessionData(req);
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/login") {
      await s.regenerate();
      s.setOwner(url.searchParams.get("user") ?? undefined);
    } else if (url.pathname === "/logout") await s.destroy();
    else if (url.pathname === "/regen") await s.regenerate();
    s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
    res.end("ok");
  })().catch((e: Error) => {
    res.statusCode = 500;
    res.end(e.message);
  });
}

const cookieOf = (c: Client) => `other=1; sid=${c.cookie}`;

async function serve(mw: SessionMiddleware) {
  return startServer(mw.node(app));
}

describe("readSession and onSessionEnded (one process, MemoryStore)", () => {
  it("readSession verifies the cookie and returns the live session's id and owner", async () => {
    await using mw = sessionMiddleware({ secret: SECRET });
    await using server = await serve(mw);
    const c = new Client(server.url);
    await c.get("/");
    const before = await mw.readSession(cookieOf(c));
    assert.ok(before);
    assert.equal(before.owner, undefined);
    assert.equal(typeof before.id, "string");
    await c.get("/login?user=alice");
    const after = await mw.readSession(cookieOf(c));
    assert.equal(after?.owner, "alice");
    assert.notEqual(after?.id, before.id, "login regenerated the id");
    assert.equal(await mw.readSession(`sid=${before.id}.${"A".repeat(43)}`), undefined, "forged signature");
    assert.equal(await mw.readSession(undefined), undefined);
    assert.equal(await mw.readSession("sid=garbage"), undefined);
    const loggedIn = cookieOf(c);
    await c.get("/logout");
    assert.equal(await mw.readSession(loggedIn), undefined, "a destroyed session is not read, though its cookie verifies");
  });

  it("tells listeners about destroy, regenerate and revokeOwner, with id and owner", async () => {
    await using mw = sessionMiddleware({ secret: SECRET });
    await using server = await serve(mw);
    const events: SessionEndedEvent[] = [];
    const off = mw.onSessionEnded((e) => events.push(e));
    const a = new Client(server.url);
    const b = new Client(server.url);
    const other = new Client(server.url);
    await a.get("/login?user=bob");
    await b.get("/login?user=bob");
    await other.get("/login?user=carol");
    const idA = (await mw.readSession(cookieOf(a)))?.id;
    const idB = (await mw.readSession(cookieOf(b)))?.id;
    assert.ok(idA !== undefined && idB !== undefined);
    events.length = 0; // the logins regenerated fresh (never stored) sessions: nothing ended

    await a.get("/regen");
    assert.deepEqual(events, [{ id: idA, owner: "bob", reason: "regenerate" }]);
    const idA2 = (await mw.readSession(cookieOf(a)))?.id;
    assert.equal((await mw.readSession(cookieOf(a)))?.owner, "bob", "the owner survives regenerate");

    events.length = 0;
    assert.equal(await mw.revokeOwner("bob"), 2);
    assert.deepEqual(events.map((e) => `${e.reason}:${e.owner}:${e.id === idA2 ? "a" : e.id === idB ? "b" : "?"}`).sort(), [
      "revoke-owner:bob:a",
      "revoke-owner:bob:b",
    ]);
    assert.equal(await mw.readSession(cookieOf(a)), undefined);
    assert.equal(await mw.readSession(cookieOf(b)), undefined);
    assert.equal((await mw.readSession(cookieOf(other)))?.owner, "carol", "other users are untouched");
    assert.equal(await mw.revokeOwner("bob"), 0);

    events.length = 0;
    await other.get("/logout");
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, "destroy");
    assert.equal(events[0].owner, "carol");

    off();
    await a.get("/login?user=dave");
    await a.get("/logout");
    assert.equal(events.length, 1, "no events after the listener was removed");
  });

  it("a throwing listener goes to onError and does not stop the others", async () => {
    const errors: unknown[] = [];
    await using mw = sessionMiddleware({ secret: SECRET, onError: (e) => errors.push(e) });
    await using server = await serve(mw);
    let heard = 0;
    mw.onSessionEnded(() => {
      throw new Error("listener bug");
    });
    mw.onSessionEnded(() => heard++);
    const c = new Client(server.url);
    await c.get("/");
    const r = await c.get("/logout");
    assert.equal(r.status, 200);
    assert.equal(heard, 1);
    assert.equal((errors[0] as Error).message, "listener bug");
  });
});

const redis = await redisAvailability();

describe("onSessionEnded across nodes (two RedisStores with notifications on one Redis)", { skip: redis.skip }, () => {
  it("a logout or revocation on node A reaches node B's listener within a second", async () => {
    const prefix = `sk-ended-${randomBytes(6).toString("hex")}:`;
    const storeA = new RedisStore({ url: redis.url, prefix, notifications: true });
    const storeB = new RedisStore({ url: redis.url, prefix, notifications: true });
    await using mwA = sessionMiddleware({ secret: SECRET, store: storeA });
    await using mwB = sessionMiddleware({ secret: SECRET, store: storeB });
    try {
      await using server = await serve(mwA);
      const onA: SessionEndedEvent[] = [];
      const onB: SessionEndedEvent[] = [];
      mwA.onSessionEnded((e) => onA.push(e));
      mwB.onSessionEnded((e) => onB.push(e));
      await sleep(200); // B's subscriber connection subscribes
      const c = new Client(server.url);
      await c.get("/login?user=erin");
      const seen = await mwB.readSession(cookieOf(c));
      assert.equal(seen?.owner, "erin", "node B reads the session node A stored");
      const t0 = Date.now();
      await c.get("/logout");
      while (onB.length === 0 && Date.now() - t0 < 1000) await sleep(10);
      assert.deepEqual(onB, [{ id: seen?.id, owner: "erin", reason: "destroy" }]);
      assert.equal(onA.length, 1, "node A heard its own event once (not again through Redis)");

      await c.get("/login?user=erin");
      const second = await mwB.readSession(cookieOf(c));
      onB.length = 0;
      assert.equal(await mwA.revokeOwner("erin"), 1);
      const t1 = Date.now();
      while (onB.length === 0 && Date.now() - t1 < 1000) await sleep(10);
      assert.deepEqual(onB, [{ id: second?.id, owner: "erin", reason: "revoke-owner" }]);
      assert.equal(await mwB.readSession(cookieOf(c)), undefined);
    } finally {
      await storeA.clear();
      await storeA.close();
      await storeB.close();
    }
  });
});

describe("onSessionEnded across processes on one SQLite file (notifications by polling)", () => {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-ended-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a revokeOwner in another process reaches this process's listener within a second", async () => {
    const path = join(dir, "sessions.db");
    const store = new SqliteStore({ path, sweepInterval: 0, notifications: { pollInterval: 100 } });
    await using mw = sessionMiddleware({ secret: SECRET, store });
    await using server = await serve(mw);
    const events: SessionEndedEvent[] = [];
    mw.onSessionEnded((e) => events.push(e));
    const c = new Client(server.url);
    await c.get("/login?user=frank");
    const live = await mw.readSession(cookieOf(c));
    assert.equal(live?.owner, "frank");

    // Another process on the same file: its own store and middleware revoke the user.
    const script = join(dir, "revoke.mts");
    const src = (f: string) => JSON.stringify(new URL(`../../src/${f}`, import.meta.url).href);
    writeFileSync(
      script,
      `const { sessionMiddleware } = await import(${src("server/index.ts")});
       const { SqliteStore } = await import(${src("stores/sqlite.ts")});
       const store = new SqliteStore({ path: ${JSON.stringify(path)}, sweepInterval: 0, notifications: true });
       const mw = sessionMiddleware({ secret: ${JSON.stringify(SECRET)}, store });
       console.log("REVOKED", await mw.revokeOwner("frank"));
       await mw.close(); await store.close();`,
    );
    const tsx = createRequire(import.meta.url).resolve("tsx");
    const child = spawnSync(process.execPath, ["--import", tsx, script], { encoding: "utf8", timeout: 60_000 });
    assert.match(child.stdout, /REVOKED 1/, child.stderr);
    // spawnSync held this event loop: the poll runs from here, and must deliver within a second.
    const t0 = Date.now();
    while (events.length === 0 && Date.now() - t0 < 1000) await sleep(20);
    assert.deepEqual(events, [{ id: live?.id, owner: "frank", reason: "revoke-owner" }]);
    assert.equal(await mw.readSession(cookieOf(c)), undefined);
    await store.close();
  });
});

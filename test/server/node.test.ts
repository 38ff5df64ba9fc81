import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import { MemoryStore, sessionData, sessionMiddleware, type SessionOptions } from "../../src/server/index.js";
import { Client, SECRET, recording, sleep, startServer } from "./helpers.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** A counter app: GET / increments "n"; other paths run `extra`. */
function counter(extra: Record<string, Handler> = {}): Handler {
  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const h = extra[path];
    if (h !== undefined) return h(req, res);
    const s = sessionData(req);
    const n = ((s.get("n") as number | undefined) ?? 0) + 1;
    s.set("n", n);
    res.end(String(n));
  };
}

async function setup(options: Partial<SessionOptions>, handler: Handler) {
  const store = (options.store as MemoryStore | undefined) ?? new MemoryStore({ sweepInterval: 0 });
  const rec = recording(store);
  const mw = sessionMiddleware({ secret: SECRET, ...options, store: rec.store });
  const server = await startServer(mw.node(handler));
  return {
    mw,
    store,
    calls: rec.calls,
    server,
    client: () => new Client(server.url),
    async [Symbol.asyncDispose]() {
      await server.close();
      await store.close();
    },
  };
}

describe("node:http adapter: basics", () => {
  it("keeps a session across requests with secure cookie defaults", async () => {
    await using t = await setup({}, counter());
    const c = t.client();
    const first = await c.get();
    assert.equal(first.body, "1");
    assert.equal(first.setCookie.length, 1);
    const cookie = first.setCookie[0];
    assert.match(cookie, /^sid=[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}; Path=\//);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.match(cookie, /; Max-Age=86400; Expires=/);
    assert.doesNotMatch(cookie, /Domain=|Secure/);
    assert.equal(first.headers.get("cache-control"), "no-store");
    assert.equal(first.headers.get("vary"), "Cookie");
    assert.equal((await c.get()).body, "2");
    assert.equal((await c.get()).body, "3");
    assert.equal((await t.client().get()).body, "1", "another client has its own session");
  });

  it("stores nothing and sends no cookie for a session that is never written", async () => {
    await using t = await setup({}, (req, res) => {
      const s = sessionData(req);
      res.end(String(s.get("n") ?? "none") + String(s.isNew));
    });
    const r = await t.client().get();
    assert.equal(r.body, "nonetrue");
    assert.deepEqual(r.setCookie, []);
    assert.equal(r.headers.get("vary"), "Cookie", "the session was read");
    assert.equal(r.headers.get("cache-control"), null);
    assert.deepEqual(
      t.calls.filter((c) => c.method !== "get"),
      [],
    );
    assert.equal(t.store.size, 0);
  });

  it("adds no Vary when the handler never looked at the session", async () => {
    await using t = await setup({}, (_req, res) => res.end("static"));
    const r = await t.client().get();
    assert.equal(r.headers.get("vary"), null);
    assert.deepEqual(r.setCookie, []);
  });

  it("writes nothing and sends no Set-Cookie for an unchanged session", async () => {
    await using t = await setup({}, counter({ "/read": (req, res) => res.end(String(sessionData(req).get("n"))) }));
    const c = t.client();
    await c.get();
    t.calls.length = 0;
    const r = await c.get("/read");
    assert.equal(r.body, "1");
    assert.deepEqual(r.setCookie, []);
    assert.deepEqual(
      t.calls.map((x) => x.method),
      ["get"],
      "one store read, no write",
    );
  });

  it("keeps the handler's own Cache-Control and merges Vary", async () => {
    await using t = await setup({}, (req, res) => {
      sessionData(req).set("x", 1);
      res.setHeader("cache-control", "private, max-age=5");
      res.writeHead(200, { vary: "Accept-Encoding" });
      res.end("ok");
    });
    const r = await t.client().get();
    assert.equal(r.headers.get("cache-control"), "private, max-age=5");
    assert.equal(r.headers.get("vary"), "Accept-Encoding, Cookie");
    assert.equal(r.setCookie.length, 1);
  });

  it("merges with raw header arrays given to writeHead, with or without setHeader first", async () => {
    await using t = await setup({}, (req, res) => {
      sessionData(req).set("x", 1);
      if (req.url === "/progressive") res.setHeader("x-early", "1");
      // A raw array may repeat a name; Node sends both lines when nothing was set before.
      res.writeHead(200, "Fine", ["Set-Cookie", "a=1", "Set-Cookie", "b=2", "Vary", "Accept", "Cache-Control", "private"]);
      res.end("ok");
    });
    const plain = await t.client().get("/");
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.setCookie.slice(0, 2), ["a=1", "b=2"]);
    assert.match(plain.setCookie[2], /^sid=/);
    assert.equal(plain.headers.get("vary"), "Accept, Cookie");
    assert.equal(plain.headers.get("cache-control"), "private", "the handler's Cache-Control wins");
    const progressive = await t.client().get("/progressive");
    assert.equal(progressive.headers.get("x-early"), "1");
    // With setHeader first, Node itself lets a repeated name in the array override (as here).
    assert.deepEqual(progressive.setCookie.slice(0, 1), ["b=2"]);
    assert.match(progressive.setCookie[1], /^sid=/);
    assert.equal(progressive.headers.get("vary"), "Accept, Cookie");
  });

  it("adds only the session headers to a response that sets none, and keeps Content-Length", async () => {
    await using t = await setup({}, counter());
    const c = t.client();
    const first = await c.get();
    assert.equal(first.headers.get("content-length"), "1");
    assert.equal(first.headers.get("cache-control"), "no-store");
    const second = await c.get();
    assert.equal(second.body, "2");
    assert.equal(second.setCookie.length, 0);
    assert.equal(second.headers.get("vary"), "Cookie");
    assert.equal(second.headers.get("cache-control"), null, "no-store only comes with a cookie");
    assert.equal(second.headers.get("content-length"), "1");
  });

  it("stores an empty new session when touched, or with saveUninitialized", async () => {
    await using t = await setup({}, (req, res) => {
      sessionData(req).touch();
      res.end();
    });
    assert.equal((await t.client().get()).setCookie.length, 1);
    assert.equal(t.store.size, 1);
    await using u = await setup({ saveUninitialized: true }, (_req, res) => res.end());
    assert.equal((await u.client().get()).setCookie.length, 1);
    assert.equal(u.store.size, 1);
  });

  it("saves in-place changes to values it handed out", async () => {
    await using t = await setup({}, (req, res) => {
      const s = sessionData(req);
      const list = (s.get("list") as number[] | undefined) ?? [];
      if (!s.has("list")) s.set("list", list);
      list.push(list.length);
      res.end(JSON.stringify(list));
    });
    const c = t.client();
    await c.get();
    await c.get();
    assert.equal((await c.get()).body, "[0,1,2]");
  });

  it("refuses values that cannot be stored, naming the key", async () => {
    await using t = await setup({}, (req, res) => {
      const s = sessionData(req);
      const errors: string[] = [];
      // Date, Map, Set, BigInt, Uint8Array and undefined are stored (test/server/values.test.ts).
      for (const bad of [Symbol("s"), () => 1, NaN, new (class Point {})(), { a: [Infinity] }, new WeakMap(), new Float64Array(1)]) {
        try {
          s.set("bad", bad as never);
        } catch (e) {
          errors.push((e as { code: string }).code);
        }
      }
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      try {
        s.set("cyclic", cyclic as never);
      } catch (e) {
        errors.push((e as Error).message.includes('"cyclic"') ? "named" : "unnamed");
      }
      res.end(errors.join(","));
    });
    const r = await t.client().get();
    assert.equal(r.body, "INVALID_SESSION_VALUE,".repeat(7) + "named");
  });

  it("iterates like a Map and serializes data only", async () => {
    await using t = await setup({}, (req, res) => {
      const s = sessionData(req);
      s.set("a", 1).set("b", { c: [true, null] });
      s.delete("a");
      s.set("d", "x");
      const out = {
        keys: [...s.keys()],
        entries: [...s],
        size: s.size,
        json: JSON.stringify(s),
        inspected: inspect(s),
        id: s.id,
        isNew: s.isNew,
        createdAt: s.createdAt instanceof Date,
      };
      res.end(JSON.stringify(out));
    });
    const out = JSON.parse((await t.client().get()).body);
    assert.deepEqual(out.keys, ["b", "d"]);
    assert.deepEqual(out.entries, [
      ["b", { c: [true, null] }],
      ["d", "x"],
    ]);
    assert.equal(out.size, 2);
    assert.equal(out.json, '{"b":{"c":[true,null]},"d":"x"}');
    assert.equal(out.isNew, true);
    assert.equal(out.createdAt, true);
    assert.ok(!out.inspected.includes(out.id) || out.id === "", "util.inspect never shows the full id");
    assert.match(out.inspected, /redacted|not assigned/);
  });

  it("hides the id from util.inspect once assigned", async () => {
    await using t = await setup({}, async (req, res) => {
      const s = sessionData(req);
      s.set("user", "alice");
      await s.regenerate();
      res.end(JSON.stringify({ id: s.id, inspected: inspect(s, { depth: 5 }), json: JSON.stringify(s) }));
    });
    const out = JSON.parse((await t.client().get()).body);
    assert.equal(out.id.length, 43);
    assert.ok(!out.inspected.includes(out.id));
    assert.ok(!out.json.includes(out.id));
    assert.match(out.inspected, /alice/);
  });

  it("throws NO_SESSION when the middleware did not run", () => {
    assert.throws(() => sessionData({}), { code: "NO_SESSION" });
  });

  it("answers 500 without hanging when the handler throws", async () => {
    const errors: unknown[] = [];
    const store = new MemoryStore({ sweepInterval: 0 });
    const mw = sessionMiddleware({ secret: SECRET, store, onError: (e) => errors.push(e) });
    await using server = await startServer(
      mw.node(async () => {
        throw new Error("handler bug");
      }),
    );
    const r = await new Client(server.url).get();
    assert.equal(r.status, 500);
    assert.equal((errors[0] as Error).message, "handler bug");
    await store.close();
  });
});

describe("node:http adapter: lifecycle", () => {
  it("regenerate(): new id, same data, old id destroyed", async () => {
    await using t = await setup(
      {},
      counter({
        "/login": async (req, res) => {
          const s = sessionData(req);
          await s.regenerate();
          s.set("user", "alice");
          res.end("in");
        },
        "/whoami": (req, res) => res.end(JSON.stringify(sessionData(req).toJSON())),
      }),
    );
    const c = t.client();
    await c.get();
    await c.get();
    const before = c.cookie;
    const r = await c.get("/login");
    assert.equal(r.setCookie.length, 1);
    assert.notEqual(c.cookie, before);
    assert.deepEqual(JSON.parse((await c.get("/whoami")).body), { n: 2, user: "alice" });
    // The old cookie names nothing any more: a fresh, empty session.
    const old = new Client(t.server.url);
    old.cookie = before;
    assert.deepEqual(JSON.parse((await old.get("/whoami")).body), {});
    assert.equal(t.store.size, 1);
  });

  it("destroy(): store entry deleted, cookie cleared, old cookie worthless", async () => {
    await using t = await setup(
      {},
      counter({
        "/logout": async (req, res) => {
          await sessionData(req).destroy();
          res.end("bye");
        },
      }),
    );
    const c = t.client();
    await c.get();
    await c.get();
    const old = c.cookie;
    const r = await c.get("/logout");
    assert.equal(r.setCookie.length, 1);
    assert.match(r.setCookie[0], /^sid=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal(c.cookie, undefined);
    assert.equal(t.store.size, 0);
    const replay = new Client(t.server.url);
    replay.cookie = old;
    const again = await replay.get();
    assert.equal(again.body, "1", "a destroyed session is never accepted again");
    assert.notEqual(replay.cookie, old);
  });

  it("destroy() then write starts a fresh session under a new id", async () => {
    await using t = await setup(
      {},
      counter({
        "/logout": async (req, res) => {
          const s = sessionData(req);
          await s.destroy();
          s.set("flash", "logged out");
          res.end();
        },
      }),
    );
    const c = t.client();
    await c.get();
    const old = c.cookie;
    const r = await c.get("/logout");
    assert.equal(r.setCookie.length, 1);
    assert.doesNotMatch(r.setCookie[0], /Max-Age=0/);
    assert.notEqual(c.cookie, old);
    assert.equal(t.store.size, 1);
  });

  it("enforces the idle timeout on the server side", async () => {
    await using t = await setup({ idleTimeout: 200, touchAfter: 0 }, counter());
    const c = t.client();
    await c.get();
    await sleep(80);
    assert.equal((await c.get()).body, "2", "activity keeps it alive");
    await sleep(80);
    assert.equal((await c.get()).body, "3");
    await sleep(300);
    assert.equal((await c.get()).body, "1", "idle too long: new session");
  });

  it("enforces the absolute timeout even with constant activity", async () => {
    await using t = await setup({ idleTimeout: 10_000, absoluteTimeout: 300, touchAfter: 0 }, counter());
    const c = t.client();
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      seen.push((await c.get()).body);
      await sleep(100);
    }
    assert.ok(seen.includes("1") && seen.lastIndexOf("1") > 0, `session restarted after the absolute timeout: ${seen}`);
  });

  it("renews the cookie and the store expiry when rolling, throttled by touchAfter", async () => {
    const read: Handler = (req, res) => res.end(String(sessionData(req).get("n")));
    await using t = await setup({ touchAfter: 0 }, counter({ "/read": read }));
    const c = t.client();
    await c.get();
    t.calls.length = 0;
    const r = await c.get("/read");
    assert.equal(r.setCookie.length, 1, "rolling renewal re-sends the cookie");
    assert.deepEqual(
      t.calls.map((x) => x.method),
      ["get", "touch"],
    );

    await using u = await setup({ touchAfter: 60_000 }, counter({ "/read": read }));
    const d = u.client();
    await d.get();
    u.calls.length = 0;
    assert.deepEqual((await d.get("/read")).setCookie, []);
    assert.deepEqual(
      u.calls.map((x) => x.method),
      ["get"],
      "throttled: no touch",
    );

    await using v = await setup({ touchAfter: 0, rolling: false }, counter({ "/read": read }));
    const e = v.client();
    const first = await e.get();
    assert.match(first.setCookie[0], /Max-Age=604800/, "without rolling the cookie lives to the absolute timeout");
    v.calls.length = 0;
    assert.deepEqual((await e.get("/read")).setCookie, [], "without rolling no cookie renewal");
    assert.deepEqual(
      v.calls.map((x) => x.method),
      ["get", "touch"],
      "the idle expiry is still renewed",
    );
  });
});

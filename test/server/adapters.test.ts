/** The same session behaviour through each adapter: Express, Fastify, Fetch and Hono. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { MemoryStore, Session, sessionData, sessionMiddleware, StoreUnavailableError } from "../../src/server/index.js";
import { Client, SECRET, flaky, startServer } from "./helpers.js";

function bump(session: Session): string {
  session.set("n", ((session.get("n") as number | undefined) ?? 0) + 1);
  return String(session.get("n"));
}

describe("Express adapter", () => {
  it("keeps a session, logs out, and passes store errors to next() as 503", async () => {
    const f = flaky(new MemoryStore({ sweepInterval: 0 }));
    await using mw = sessionMiddleware({ secret: SECRET, store: f.store, onError: () => undefined });
    const app = express();
    app.use(mw.express());
    app.get("/", (req, res) => {
      res.send(bump(sessionData(req)));
    });
    app.get("/json", (req, res) => {
      res.json({ n: sessionData(req).get("n") });
    });
    app.get("/logout", async (req, res) => {
      await sessionData(req).destroy();
      res.send("bye");
    });
    app.use((err: StoreUnavailableError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(err.statusCode ?? 500).send(err.code);
    });
    await using server = await startServer(app);
    const c = new Client(server.url);
    const first = await c.get();
    assert.equal(first.body, "1");
    assert.equal(first.headers.get("cache-control"), "no-store");
    assert.equal((await c.get()).body, "2");
    assert.deepEqual(JSON.parse((await c.get("/json")).body), { n: 2 });
    f.setDown(true);
    const down = await c.get();
    assert.deepEqual([down.status, down.body], [503, "STORE_UNAVAILABLE"]);
    f.setDown(false);
    assert.equal((await c.get()).body, "3");
    const out = await c.get("/logout");
    assert.match(out.setCookie[0], /Max-Age=0/);
    assert.equal((await c.get()).body, "1");
  });
});

describe("Fastify plugin", () => {
  it("keeps a session through onRequest/onSend hooks, and maps store errors to 503", async () => {
    const f = flaky(new MemoryStore({ sweepInterval: 0 }));
    await using mw = sessionMiddleware({ secret: SECRET, store: f.store });
    const app = Fastify();
    await app.register(mw.fastify);
    app.get("/", async (request) => bump(sessionData(request)));
    app.get("/raw", async (request) => String(sessionData(request.raw).get("n")));
    app.get("/login", async (request, reply) => {
      const s = sessionData(request);
      await s.regenerate();
      s.set("user", "alice");
      reply.header("cache-control", "private");
      return "ok";
    });
    let failOnSave = false;
    app.get("/save-fails", async (request) => {
      bump(sessionData(request));
      if (failOnSave) f.setDown(true);
      return "written";
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const address = app.server.address() as { port: number };
      const c = new Client(`http://127.0.0.1:${address.port}`);
      assert.equal((await c.get()).body, "1");
      assert.equal((await c.get()).body, "2");
      assert.equal((await c.get("/raw")).body, "2");
      const before = c.cookie;
      const login = await c.get("/login");
      assert.notEqual(c.cookie, before);
      assert.equal(login.headers.get("cache-control"), "private");
      assert.equal(login.headers.get("vary"), "Cookie");
      f.setDown(true);
      const down = await c.get();
      assert.equal(down.status, 503);
      assert.equal(JSON.parse(down.body).code, "STORE_UNAVAILABLE");
      f.setDown(false);
      failOnSave = true;
      const saveFail = await c.get("/save-fails");
      assert.equal(saveFail.status, 503);
      assert.deepEqual(saveFail.setCookie, []);
      failOnSave = false;
      f.setDown(false);
      assert.equal((await c.get()).body, "3");
    } finally {
      await app.close();
    }
  });
});

describe("Fetch and Hono adapters", () => {
  it("wraps a (Request) => Response handler", async () => {
    await using mw = sessionMiddleware({ secret: SECRET });
    const handler = mw.fetch(async (request: Request) => {
      const s = sessionData(request);
      if (new URL(request.url).pathname === "/logout") {
        await s.destroy();
        return new Response("bye");
      }
      return new Response(bump(s), { headers: { "cache-control": "max-age=1" } });
    });
    let cookie = "";
    const call = async (path = "/") => {
      const res = await handler(new Request(`http://app.test${path}`, { headers: cookie ? { cookie } : {} }));
      const set = res.headers.getSetCookie()[0];
      if (set !== undefined) cookie = set.split(";")[0];
      return res;
    };
    const r1 = await call();
    assert.equal(await r1.text(), "1");
    assert.equal(r1.headers.get("cache-control"), "max-age=1");
    assert.equal(r1.headers.get("vary"), "Cookie");
    assert.equal(await (await call()).text(), "2");
    // Responses with immutable headers (e.g. from fetch()) are copied, not broken.
    const immutable = mw.fetch(async (request: Request) => {
      bump(sessionData(request));
      return Response.redirect("http://app.test/next", 302);
    });
    const red = await immutable(new Request("http://app.test/", { headers: { cookie } }));
    assert.equal(red.status, 302);
    assert.equal(red.headers.get("location"), "http://app.test/next");
    const https = await mw.fetch(async (request: Request) => {
      sessionData(request).set("x", 1);
      return new Response("ok");
    })(new Request("https://app.test/"));
    assert.match(https.headers.getSetCookie()[0], /; Secure/);
    const out = await call("/logout");
    assert.match(out.headers.getSetCookie()[0], /Max-Age=0/);
  });

  it("works as Hono middleware, with sessionData(c) or sessionData(c.req.raw)", async () => {
    await using mw = sessionMiddleware({ secret: SECRET });
    const app = new Hono();
    app.use(mw.hono());
    app.get("/", (c) => c.text(bump(sessionData(c))));
    app.get("/raw", (c) => c.text(String(sessionData(c.req.raw).get("n"))));
    app.onError((err, c) => c.text((err as StoreUnavailableError).code ?? "error", 503));
    let cookie = "";
    const call = async (path = "/") => {
      const res = await app.request(path, { headers: cookie ? { cookie } : {} });
      const set = res.headers.getSetCookie()[0];
      if (set !== undefined) cookie = set.split(";")[0];
      return res;
    };
    const first = await call();
    assert.equal(await first.text(), "1");
    assert.equal(first.headers.get("cache-control"), "no-store");
    assert.equal(await (await call()).text(), "2");
    assert.equal(await (await call("/raw")).text(), "2");

    const f = flaky(new MemoryStore({ sweepInterval: 0 }));
    await using mw2 = sessionMiddleware({ secret: SECRET, store: f.store });
    const app2 = new Hono();
    app2.use(mw2.hono());
    app2.get("/", (c) => c.text(bump(sessionData(c))));
    app2.onError((err, c) => c.text((err as StoreUnavailableError).code ?? "error", 503));
    f.setDown(true);
    const down = await app2.request("/", { headers: { cookie } });
    assert.deepEqual([down.status, await down.text()], [503, "STORE_UNAVAILABLE"]);
  });
});

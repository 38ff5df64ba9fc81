/**
 * No lost updates, against every bundled store: the failure express-session and
 * @fastify/session users keep reporting (two overlapping requests, one write lost).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createClient } from "redis";
import { MemoryStore, sessionData, sessionMiddleware, type SessionStore } from "../../src/server/index.js";
import { RedisStore } from "../../src/stores/redis.js";
import { SqliteStore } from "../../src/stores/sqlite.js";
import { redisAvailability } from "../helpers/redis.js";
import { Client, SECRET, sleep, startServer } from "./helpers.js";

const redis = await redisAvailability();
const dir = mkdtempSync(join(tmpdir(), "sessionkit-conc-"));
const prefix = `sk-conc-${randomBytes(6).toString("hex")}:`;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (redis.skip !== false) return;
  const client = createClient({ url: redis.url });
  await client.connect();
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
  await client.close();
});

const stores: Array<[string, () => SessionStore, string | false]> = [
  ["MemoryStore", () => new MemoryStore({ sweepInterval: 0 }), false],
  ["SqliteStore", () => new SqliteStore({ path: join(dir, `${randomBytes(4).toString("hex")}.db`), sweepInterval: 0 }), false],
  ["RedisStore", () => new RedisStore({ url: redis.url, prefix }), redis.skip],
];

async function handler(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://x");
  const s = sessionData(req);
  await sleep(Number(url.searchParams.get("delay") ?? 0));
  switch (url.pathname) {
    case "/set":
      s.set(url.searchParams.get("k") as string, Number(url.searchParams.get("v") ?? 1));
      break;
    case "/del":
      s.delete(url.searchParams.get("k") as string);
      break;
    case "/logout":
      await s.destroy();
      break;
  }
  res.end(JSON.stringify(s.toJSON()));
}

for (const [name, make, skip] of stores) {
  describe(`no lost updates: ${name}`, { skip }, () => {
    async function setup() {
      const store = make();
      const mw = sessionMiddleware({ secret: SECRET, store });
      const server = await startServer(mw.node(handler));
      return {
        store,
        server,
        async [Symbol.asyncDispose]() {
          await server.close();
          await store.close();
        },
      };
    }

    it("two overlapping requests changing different keys both survive", async () => {
      await using t = await setup();
      const c = new Client(t.server.url);
      await c.get("/set?k=base");
      await Promise.all([c.get("/set?k=a&delay=60"), c.get("/set?k=b&delay=10"), c.get("/del?k=base&delay=30")]);
      assert.deepEqual(JSON.parse((await c.get("/")).body), { a: 1, b: 1 });
    });

    it("twenty overlapping writers to distinct keys all survive", async () => {
      await using t = await setup();
      const c = new Client(t.server.url);
      await c.get("/set?k=base");
      await Promise.all(Array.from({ length: 20 }, (_, i) => c.get(`/set?k=k${i}&v=${i}&delay=${(i * 7) % 40}`)));
      const data = JSON.parse((await c.get("/")).body);
      for (let i = 0; i < 20; i++) assert.equal(data[`k${i}`], i);
    });

    it("a slower request never brings a destroyed session back", async () => {
      await using t = await setup();
      const c = new Client(t.server.url);
      await c.get("/set?k=user");
      const cookie = c.cookie as string;
      const slow = new Client(t.server.url);
      slow.cookie = cookie;
      const [slowReply] = await Promise.all([slow.get("/set?k=late&delay=120"), c.get("/logout")]);
      assert.match(slowReply.setCookie.join("\n"), /sid=; Path=\/; Max-Age=0/, "the slow response clears the cookie too");
      const replay = new Client(t.server.url);
      replay.cookie = cookie;
      assert.deepEqual(JSON.parse((await replay.get("/")).body), {}, "destroyed stays destroyed");
    });
  });
}

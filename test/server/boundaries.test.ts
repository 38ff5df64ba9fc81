/** Garbage from stores, and what `sessionkit/server` pulls in. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStore, sessionData, sessionMiddleware, type SessionStore } from "../../src/server/index.js";
import { CookieSigner } from "../../src/server/cookie.js";
import { SqliteStore } from "../../src/stores/sqlite.js";
import { Client, SECRET, startServer } from "./helpers.js";

const counter = (req: IncomingMessage, res: ServerResponse) => {
  const s = sessionData(req);
  s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
  res.end(String(s.get("n")));
};

describe("garbage in the store", () => {
  it("a third-party store returning malformed entries yields a fresh session", async () => {
    const base = new MemoryStore({ sweepInterval: 0 });
    const answers: unknown[] = [null, 42, "text", { data: [] }, { data: {}, createdAt: "x", expiresAt: 1 }, { data: null }];
    let i = 0;
    const store: SessionStore = Object.assign(Object.create(base) as SessionStore, {
      get: async () => answers[i++ % answers.length] as never,
      create: base.create.bind(base),
      update: base.update.bind(base),
      touch: base.touch.bind(base),
      destroy: base.destroy.bind(base),
      close: base.close.bind(base),
      [Symbol.asyncDispose]: () => base.close(),
    });
    await using mw = sessionMiddleware({ secret: SECRET, store });
    await using server = await startServer(mw.node(counter));
    const signer = new CookieSigner([Buffer.from(SECRET)]);
    for (let k = 0; k < answers.length; k++) {
      const c = new Client(server.url);
      c.cookie = signer.sign("A".repeat(43));
      const r = await c.get();
      assert.equal(r.status, 200);
      assert.equal(r.body, "1");
      assert.ok(!(c.cookie as string).startsWith("A".repeat(43)));
    }
  });

  it("a corrupt SQLite row yields a fresh session, not an error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sessionkit-garbage-"));
    try {
      const path = join(dir, "s.db");
      await using store = new SqliteStore({ path, sweepInterval: 0 });
      await using mw = sessionMiddleware({ secret: SECRET, store });
      await using server = await startServer(mw.node(counter));
      const c = new Client(server.url);
      await c.get();
      assert.equal((await c.get()).body, "2");
      const raw = new Database(path);
      raw.prepare("UPDATE sessionkit_sessions SET data = ?").run('{"n": 2, broken');
      raw.close();
      const before = c.cookie;
      assert.equal((await c.get()).body, "1");
      assert.notEqual(c.cookie, before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("entry points", () => {
  it("sessionkit/server never imports better-sqlite3 or redis", () => {
    // Walk the static import graph from the entry file.
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
        else external.add(spec);
      }
    };
    visit(resolve("src/server/index.ts"));
    assert.ok(seen.size > 5, "walked the graph");
    assert.ok(![...seen].some((f) => /stores[\\/](sqlite|redis)\.ts$/.test(f)), [...seen].join("\n"));
    for (const spec of external) assert.ok(spec.startsWith("node:"), `unexpected dependency ${spec}`);
  });
});

import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { CookieSigner, generateId, readCookieValues } from "../../src/server/cookie.js";
import { MemoryStore, sessionData, sessionMiddleware } from "../../src/server/index.js";
import { Client, SECRET, recording, startServer } from "./helpers.js";

const counter = (req: IncomingMessage, res: ServerResponse) => {
  const s = sessionData(req);
  s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
  res.end(String(s.get("n")));
};

async function app(secret: string | string[] = SECRET, extra: Record<string, unknown> = {}) {
  const store = new MemoryStore({ sweepInterval: 0 });
  const rec = recording(store);
  const mw = sessionMiddleware({ secret, store: rec.store, ...extra });
  const server = await startServer(mw.node(counter));
  return {
    server,
    store,
    calls: rec.calls,
    async [Symbol.asyncDispose]() {
      await server.close();
      await store.close();
    },
  };
}

describe("session cookie: signing and bad input", () => {
  it("ids are 256-bit, unique, and signed with HMAC-SHA256", () => {
    const ids = new Set(Array.from({ length: 1000 }, generateId));
    assert.equal(ids.size, 1000);
    for (const id of ids) assert.equal(Buffer.from(id, "base64url").length, 32);
    const signer = new CookieSigner([Buffer.from(SECRET)]);
    const id = generateId();
    assert.deepEqual(signer.verify(signer.sign(id)), { id, current: true });
  });

  it("remembering verified values never lets a tampered or foreign value through", async () => {
    const { createHmac } = await import("node:crypto");
    const signer = new CookieSigner([Buffer.from(SECRET), Buffer.from("old-secret-0123456789abcdef-0123456789")]);
    const id = generateId();
    const value = signer.sign(id);
    assert.equal(value, `${id}.${createHmac("sha256", SECRET).update(id).digest("base64url")}`);
    for (let i = 0; i < 3; i++) assert.deepEqual(signer.verify(value), { id, current: true }); // cached or not, same answer
    const flipped = value.slice(0, 60) + (value[60] === "A" ? "B" : "A") + value.slice(61);
    assert.equal(signer.verify(flipped), undefined);
    assert.equal(signer.verify(flipped), undefined, "a rejected value stays rejected");
    // The MAC's last character has 2 padding bits a base64 decoder ignores: changing only
    // those would decode to the same MAC, and is refused as a non-canonical encoding.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(value.at(-1)!);
    for (let pad = 1; pad < 4; pad++) {
      const sameBytes = value.slice(0, -1) + alphabet[(last & ~3) | pad];
      assert.deepEqual(Buffer.from(sameBytes.slice(44), "base64url"), Buffer.from(value.slice(44), "base64url"));
      assert.equal(signer.verify(sameBytes), undefined);
    }
    // Signed by the rotated-out secret: valid but not current, also when asked again.
    const old = `${id}.${createHmac("sha256", "old-secret-0123456789abcdef-0123456789").update(id).digest("base64url")}`;
    assert.deepEqual(signer.verify(old), { id, current: false });
    assert.deepEqual(signer.verify(old), { id, current: false });
    // Another server's signer (other secret) never accepts our value, and ours never theirs.
    const other = new CookieSigner([Buffer.from("another-secret-0123456789abcdef-012345")]);
    assert.equal(other.verify(value), undefined);
    assert.equal(signer.verify(other.sign(id)), undefined);
    // Far more valid values than the memory holds: the earliest still verifies (recomputed).
    for (let i = 0; i < 10_050; i++) signer.verify(signer.sign(generateId()));
    assert.deepEqual(signer.verify(value), { id, current: true });
  });

  it("gives a fresh session for tampered, truncated, oversized and garbage cookies", async () => {
    await using t = await app();
    const c = new Client(t.server.url);
    await c.get();
    assert.equal((await c.get()).body, "2");
    const good = c.cookie as string;
    const [id, mac] = good.split(".");
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
    const bad = [
      `${flip(id, 5)}.${mac}`, // tampered id
      `${id}.${flip(mac, 10)}`, // tampered mac
      `${id}.${mac.slice(0, 20)}`, // truncated
      id, // no mac
      `${good}x`,
      `${id}.${mac}${"A".repeat(5000)}`, // oversized
      "%00%ff\u00e9",
      "",
    ];
    for (const value of bad) {
      const attacker = new Client(t.server.url);
      attacker.cookie = value;
      const r = await attacker.get();
      assert.equal(r.body, "1", `cookie ${JSON.stringify(value.slice(0, 30))} must not open a session`);
      assert.ok(attacker.cookie !== undefined && !attacker.cookie.startsWith(id), "never a session under the client's id");
    }
    // A header far beyond browser limits is just noise too.
    const huge = await new Client(t.server.url).get("/", { cookie: `junk=${"x".repeat(12_000)}; sid=${good}` });
    assert.equal(huge.body, "3");
  });

  it("never accepts a validly signed id this server did not issue (or no longer has)", async () => {
    await using t = await app();
    const signer = new CookieSigner([Buffer.from(SECRET)]);
    const forged = generateId();
    const c = new Client(t.server.url);
    c.cookie = signer.sign(forged);
    assert.equal((await c.get()).body, "1");
    assert.ok(!(c.cookie as string).startsWith(forged), "fresh id, not the one the client chose");
    assert.equal(await t.store.get(forged), undefined);
  });

  it("handles duplicated cookies: skips invalid ones, looks at a bounded number", async () => {
    await using t = await app();
    const c = new Client(t.server.url);
    await c.get();
    const good = c.cookie as string;
    const r = await new Client(t.server.url).get("/", { cookie: `sid=forged.value; other=1; sid=${good}` });
    assert.equal(r.body, "2", "the valid duplicate is used");
    t.calls.length = 0;
    const many = Array.from({ length: 50 }, () => `sid=${new CookieSigner([Buffer.from(SECRET)]).sign(generateId())}`).join("; ");
    const m = await new Client(t.server.url).get("/", { cookie: many });
    assert.equal(m.body, "1");
    assert.ok(t.calls.filter((x) => x.method === "get").length <= 4, "at most 4 store lookups per request");
    assert.equal(readCookieValues(many, "sid").length, 4);
  });

  it("rotates secrets: the first signs, every one verifies", async () => {
    const OLD = "old-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    const store = new MemoryStore({ sweepInterval: 0 });
    const before = sessionMiddleware({ secret: OLD, store });
    const after = sessionMiddleware({ secret: [SECRET, OLD], store });
    const s1 = await startServer(before.node(counter));
    const s2 = await startServer(after.node(counter));
    try {
      const c = new Client(s1.url);
      await c.get();
      const oldCookie = c.cookie as string;
      const c2 = new Client(s2.url);
      c2.cookie = oldCookie;
      assert.equal((await c2.get()).body, "2", "old-secret cookie still verifies");
      const fresh = new Client(s2.url);
      await fresh.get();
      const [id, mac] = (fresh.cookie as string).split(".");
      assert.equal(new CookieSigner([Buffer.from(SECRET)]).sign(id), `${id}.${mac}`, "new cookies use the first secret");
      const onlyOld = new Client(s1.url);
      onlyOld.cookie = fresh.cookie;
      assert.equal((await onlyOld.get()).body, "1", "a server without the new secret rejects it");
    } finally {
      await s1.close();
      await s2.close();
      await store.close();
    }
  });

  it("supports __Host- cookies (Secure, Path=/, no Domain)", async () => {
    await using t = await app(SECRET, { cookie: { name: "__Host-sid" } });
    const r = await new Client(t.server.url, "__Host-sid").get();
    assert.match(r.setCookie[0], /^__Host-sid=.*; Path=\/;.*; Secure; SameSite=Lax$/);
    assert.doesNotMatch(r.setCookie[0], /Domain/);
  });

  it("secure: auto trusts X-Forwarded-Proto only with trustProxy; true/false are fixed", async () => {
    const cases: Array<[Record<string, unknown>, Record<string, string>, boolean]> = [
      [{}, { "x-forwarded-proto": "https" }, false],
      [{ trustProxy: true }, { "x-forwarded-proto": "https" }, true],
      [{ trustProxy: true }, { "x-forwarded-proto": "http, https" }, false],
      [{ cookie: { secure: true } }, {}, true],
      [{ cookie: { secure: false }, trustProxy: true }, { "x-forwarded-proto": "https" }, false],
    ];
    for (const [options, headers, secure] of cases) {
      await using t = await app(SECRET, options);
      const r = await new Client(t.server.url).get("/", headers);
      assert.equal(/; Secure/.test(r.setCookie[0]), secure, JSON.stringify([options, headers]));
    }
  });

  it("honours cookie attributes: domain, path, sameSite, partitioned, session cookies", async () => {
    await using t = await app(SECRET, {
      cookie: { domain: "example.test", path: "/app", sameSite: "Strict", partitioned: true, secure: true, persistent: false },
    });
    const r = await new Client(t.server.url).get();
    assert.equal(r.setCookie[0].replace(/=[^;]+;/, "=X;"), "sid=X; Path=/app; Domain=example.test; HttpOnly; Secure; SameSite=Strict; Partitioned");
  });

  it("rejects bad options with INVALID_ARGUMENT (never echoing the secret) and oversize cookies with COOKIE_TOO_LARGE", () => {
    const short = "short-secret-value";
    for (const options of [
      { secret: short },
      { secret: [] },
      { secret: [SECRET, short] },
      { secret: SECRET, cookie: { name: "__Host-sid", secure: false } },
      { secret: SECRET, cookie: { name: "__Host-sid", path: "/x" } },
      { secret: SECRET, cookie: { name: "__Host-sid", domain: "a.test" } },
      { secret: SECRET, cookie: { name: "bad name" } },
      { secret: SECRET, cookie: { path: "/a;b" } },
      { secret: SECRET, cookie: { sameSite: "None", secure: false } },
      { secret: SECRET, idleTimeout: 0 },
      { secret: SECRET, absoluteTimeout: -1 },
    ]) {
      assert.throws(
        () => sessionMiddleware(options as never),
        (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT" && !e.message.includes(short) && !inspect(e).includes(SECRET),
        JSON.stringify(options.cookie ?? options),
      );
    }
    assert.throws(() => sessionMiddleware({ secret: SECRET, cookie: { path: `/${"p".repeat(4100)}` } }), { code: "COOKIE_TOO_LARGE" });
    assert.throws(
      () => sessionMiddleware({ secret: SECRET, store: { get() {} } as never }),
      (e: Error) => e instanceof TypeError && /create\(\)/.test(e.message),
    );
  });
});

/** The CookieJar API and its hooks, called directly (no network). */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import { MemoryCookieStore } from "tough-cookie";
import { FeatureOrder, Message, MessageHeaders } from "../../../src/index.js";
import { CookieJar, CookieJarAcceptPolicy, JarCookie } from "../../../src/features/cookies/index.js";

function withSetCookie(url: string, values: string[], status = 200): Message {
  const msg = new Message("GET", url);
  msg.status = status;
  const h = new MessageHeaders();
  for (const v of values) h.append("Set-Cookie", v);
  msg.responseHeaders = h;
  return msg;
}

async function cookieHeaderFor(jar: CookieJar, url: string, setup?: (m: Message) => void): Promise<string | null> {
  const msg = new Message("GET", url);
  setup?.(msg);
  jar.requestQueued(msg);
  await jar.beforeSend(msg);
  return msg.requestHeaders.get("Cookie");
}

describe("CookieJar API", () => {
  it("has the COOKIES order and ALWAYS as the default policy", () => {
    const jar = new CookieJar();
    assert.equal(jar.order, FeatureOrder.COOKIES);
    assert.equal(jar.acceptPolicy, CookieJarAcceptPolicy.ALWAYS);
    assert.equal(jar.isPersistent, false);
    assert.throws(() => (jar.acceptPolicy = 7 as never), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new CookieJar({ store: {} as never }), TypeError);
    assert.throws(() => new CookieJar({ limits: { maxTotal: 0 } }), { code: "INVALID_ARGUMENT" });
  });

  it("sets, reads, deletes and clears cookies, with Domain and Path matching", async () => {
    const jar = new CookieJar();
    assert.ok(await jar.setCookie("https://www.example.com/a/b", "path=1; Path=/a"));
    assert.ok(await jar.setCookie("https://www.example.com/", "dom=2; Domain=example.com"));
    assert.ok(await jar.setCookie("https://www.example.com/", "host=3"));
    assert.equal(await jar.setCookie("https://www.example.com/", "bad=4; Domain=other.com"), null);
    assert.equal(await jar.setCookie("https://www.example.com/", "psl=5; Domain=com"), null);
    assert.equal(await jar.getCookieHeader("https://www.example.com/a/x"), "path=1; dom=2; host=3");
    assert.equal(await jar.getCookieHeader("https://www.example.com/b"), "dom=2; host=3");
    assert.equal(await jar.getCookieHeader("https://api.example.com/a"), "dom=2");
    assert.equal(await jar.getCookieHeader("https://example.org/"), null);
    const all = await jar.allCookies();
    assert.deepEqual(all.map((c) => c.name).sort(), ["dom", "host", "path"]);
    const dom = all.find((c) => c.name === "dom")!;
    assert.equal(dom.hostOnly, false);
    assert.equal(dom.domain, "example.com");
    await jar.deleteCookie(dom);
    assert.equal(await jar.getCookieHeader("https://api.example.com/"), null);
    await jar.clear();
    assert.equal(await jar.count(), 0);
  });

  it("rejects public-suffix domains from the PSL (co.uk, github.io)", async () => {
    const jar = new CookieJar();
    assert.equal(await jar.setCookie("https://a.example.co.uk/", "x=1; Domain=co.uk"), null);
    assert.equal(await jar.setCookie("https://me.github.io/", "x=1; Domain=github.io"), null);
    assert.ok(await jar.setCookie("https://a.example.co.uk/", "x=1; Domain=example.co.uk"));
  });

  it("applies Secure, HttpOnly (for non-HTTP callers) and the __Secure-/__Host- prefixes", async () => {
    const jar = new CookieJar({ secureOnLocalhost: false });
    assert.equal(await jar.setCookie("http://example.com/", "s=1; Secure"), null);
    assert.ok(await jar.setCookie("https://example.com/", "s=1; Secure"));
    assert.equal(await jar.getCookieHeader("http://example.com/"), null);
    assert.equal(await jar.getCookieHeader("https://example.com/"), "s=1");
    assert.ok(await jar.setCookie("https://example.com/", "h=2; HttpOnly"));
    assert.equal(await jar.getCookieHeader("https://example.com/", { forHttp: false }), "s=1");
    assert.equal(await jar.setCookie("https://example.com/", "h2=2; HttpOnly", { forHttp: false }), null);
    assert.equal(await jar.setCookie("https://example.com/", "__Secure-a=1"), null);
    assert.ok(await jar.setCookie("https://example.com/", "__Secure-a=1; Secure"));
    assert.equal(await jar.setCookie("https://www.example.com/", "__Host-b=1; Secure; Path=/; Domain=example.com"), null);
    assert.equal(await jar.setCookie("https://example.com/x/", "__Host-b=1; Secure; Path=/x"), null);
    assert.ok(await jar.setCookie("https://example.com/", "__Host-b=1; Secure; Path=/"));
  });

  it("honours expiry: past Expires / Max-Age=0 delete, future Expires persists", async () => {
    const jar = new CookieJar();
    await jar.setCookie("https://example.com/", "a=1; Max-Age=3600");
    const [a] = await jar.allCookies();
    assert.ok(a.persistent && a.expires!.getTime() > Date.now());
    await jar.setCookie("https://example.com/", "a=1; Max-Age=0");
    await jar.setCookie("https://example.com/", "b=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT");
    assert.deepEqual(await jar.allCookies(), []);
  });

  it("emits changed for add, replace and delete, not for an identical refresh", async () => {
    const jar = new CookieJar();
    const events: Array<[string | null, string | null]> = [];
    jar.on("changed", (o, n) => events.push([o && `${o.name}=${o.value}`, n && `${n.name}=${n.value}`]));
    await jar.setCookie("https://example.com/", "a=1");
    await jar.setCookie("https://example.com/", "a=1");
    await jar.setCookie("https://example.com/", "a=2");
    await jar.setCookie("https://example.com/", "a=2; Max-Age=0");
    await jar.addCookie({ name: "b", value: "3", domain: "example.com" });
    await jar.clear();
    assert.deepEqual(events, [
      [null, "a=1"],
      ["a=1", "a=2"],
      ["a=2", null],
      [null, "b=3"],
      ["b=3", null],
    ]);
  });

  it("never prints cookie values", async () => {
    const jar = new CookieJar();
    const c = await jar.setCookie("https://example.com/", "sid=TOPSECRET; HttpOnly; SameSite=Lax");
    for (const s of [String(c), inspect(c), inspect(await jar.allCookies()), inspect(jar), String(jar)]) {
      assert.doesNotMatch(s, /TOPSECRET/);
    }
    assert.match(inspect(c), /sid=<redacted>/);
    assert.match(c!.toSetCookieHeader(), /sid=TOPSECRET/);
  });

  it("accepts any tough-cookie Store", async () => {
    const store = new MemoryCookieStore();
    const jar = new CookieJar({ store });
    await jar.setCookie("https://example.com/", "a=1");
    assert.equal((await store.getAllCookies()).length, 1);
  });

  it("converts JarCookie to and from tough-cookie without losing attributes", () => {
    const expires = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000);
    const c = new JarCookie({
      name: "n",
      value: "v",
      domain: ".Example.com",
      path: "/p",
      expires,
      secure: true,
      httpOnly: true,
      sameSite: "strict",
      hostOnly: false,
    });
    const back = JarCookie.fromTough(c.toTough());
    assert.equal(back.domain, "example.com");
    assert.equal(back.expires!.getTime(), expires.getTime());
    assert.deepEqual([back.path, back.secure, back.httpOnly, back.sameSite, back.hostOnly], ["/p", true, true, "strict", false]);
  });
});

describe("CookieJar hooks", () => {
  it("replaces the Cookie header on each hop and keeps the app's own header on its origin only", async () => {
    const jar = new CookieJar();
    await jar.setCookie("https://a.example/", "jar=1");
    const msg = new Message("GET", "https://a.example/");
    msg.requestHeaders.set("Cookie", "app=0");
    jar.requestQueued(msg);
    await jar.beforeSend(msg);
    assert.equal(msg.requestHeaders.get("Cookie"), "app=0; jar=1");
    await jar.beforeSend(msg); // a restart must not duplicate anything
    assert.equal(msg.requestHeaders.get("Cookie"), "app=0; jar=1");
    msg.url = "https://b.example/";
    await jar.beforeSend(msg);
    assert.equal(msg.requestHeaders.get("Cookie"), null);
  });

  it("stores Set-Cookie from 3xx responses too", async () => {
    const jar = new CookieJar();
    await jar.gotHeaders(withSetCookie("https://a.example/", ["r=1"], 302));
    assert.equal(await cookieHeaderFor(jar, "https://a.example/next"), "r=1");
  });

  it("ignores Set-Cookie on a proxy's 407 answer to CONNECT for an https URL", async () => {
    const jar = new CookieJar();
    await jar.gotHeaders(withSetCookie("https://a.example/", ["planted=1"], 407));
    assert.equal(await jar.count(), 0);
  });

  it("decides SameSite from siteForCookies and top-level navigation", async () => {
    const jar = new CookieJar();
    await jar.setCookie("https://a.example/", "none=0; SameSite=None; Secure");
    await jar.setCookie("https://a.example/", "lax=1; SameSite=Lax");
    await jar.setCookie("https://a.example/", "strict=2; SameSite=Strict");
    await jar.setCookie("https://a.example/", "plain=3");
    const cross = new URL("https://evil.example/");
    assert.equal(await cookieHeaderFor(jar, "https://a.example/"), "none=0; lax=1; strict=2; plain=3");
    assert.equal(
      await cookieHeaderFor(jar, "https://a.example/", (m) => (m.siteForCookies = new URL("https://www.a.example/"))),
      "none=0; lax=1; strict=2; plain=3",
    );
    assert.equal(await cookieHeaderFor(jar, "https://a.example/", (m) => (m.siteForCookies = cross)), "none=0; plain=3");
    assert.equal(
      await cookieHeaderFor(jar, "https://a.example/", (m) => {
        m.siteForCookies = cross;
        m.isTopLevelNavigation = true;
      }),
      "none=0; lax=1; plain=3",
    );
    // A cross-site subresource response cannot set SameSite=Lax/Strict cookies.
    const sub = withSetCookie("https://a.example/", ["lax2=1; SameSite=Lax", "free=1; SameSite=None; Secure"]);
    sub.siteForCookies = cross;
    await jar.gotHeaders(sub);
    const names = (await jar.allCookies()).map((c) => c.name);
    assert.ok(names.includes("free"));
    assert.ok(!names.includes("lax2"));
  });

  it("applies NEVER, NO_THIRD_PARTY and GRANDFATHERED_THIRD_PARTY", async () => {
    const first = new URL("https://www.site.example/");
    const thirdParty = (url: string, v: string) => {
      const m = withSetCookie(url, [v]);
      m.firstParty = first;
      return m;
    };
    const never = new CookieJar({ acceptPolicy: CookieJarAcceptPolicy.NEVER });
    await never.gotHeaders(withSetCookie("https://www.site.example/", ["a=1"]));
    assert.equal(await never.count(), 0);
    assert.equal(await never.setCookie("https://www.site.example/", "a=1"), null);

    const strict = new CookieJar({ acceptPolicy: CookieJarAcceptPolicy.NO_THIRD_PARTY });
    await strict.gotHeaders(thirdParty("https://tracker.example/", "t=1"));
    await strict.gotHeaders(thirdParty("https://cdn.site.example/", "same=1"));
    await strict.gotHeaders(withSetCookie("https://tracker.example/", ["nofp=1"])); // no first party known
    assert.deepEqual((await strict.allCookies()).map((c) => c.name).sort(), ["nofp", "same"]);

    const grand = new CookieJar({ acceptPolicy: CookieJarAcceptPolicy.GRANDFATHERED_THIRD_PARTY });
    await grand.gotHeaders(thirdParty("https://tracker.example/", "t=1"));
    assert.equal(await grand.count(), 0);
    await grand.setCookie("https://tracker.example/", "visited=1", { firstParty: "https://tracker.example/" });
    await grand.gotHeaders(thirdParty("https://ads.tracker.example/", "t=2; Domain=tracker.example"));
    assert.deepEqual((await grand.allCookies()).map((c) => c.name).sort(), ["t", "visited"]);
  });

  it("caps cookies per registrable domain and in total, evicting least recently used", async () => {
    const jar = new CookieJar({ limits: { maxPerDomain: 5, maxTotal: 8 } });
    for (let i = 0; i < 12; i++) await jar.setCookie(`https://s${i % 3}.a.example/`, `c${i}=1; Domain=a.example`);
    assert.equal(await jar.count(), 5);
    assert.deepEqual((await jar.allCookies()).map((c) => c.name).sort(), ["c10", "c11", "c7", "c8", "c9"]);
    for (let i = 0; i < 6; i++) await jar.setCookie(`https://b${i}.example/`, `o${i}=1`);
    assert.equal(await jar.count(), 8);
    const names = (await jar.allCookies()).map((c) => c.name);
    for (let i = 0; i < 6; i++) assert.ok(names.includes(`o${i}`), `o${i} is newest and stays`);
  });

  it("drops hostile Set-Cookie headers cleanly: huge, binary, thousands", async () => {
    const jar = new CookieJar();
    const headers = [
      `big=${"x".repeat(5000)}`,
      `${"n".repeat(3000)}=${"v".repeat(1200)}`,
      "bin=\u0001\u0002\u007f",
      "\u00ff\u00fe=\u00fd", // obs-text (latin-1) is allowed by RFC 6265 §5.2, as in browsers
      "=novalue",
      ";;;;",
      "ok=1",
    ];
    await jar.gotHeaders(withSetCookie("https://a.example/", headers));
    assert.deepEqual(
      (await jar.allCookies()).map((c) => c.name),
      ["\u00ff\u00fe", "ok"],
    );
    const many = Array.from({ length: 5000 }, (_, i) => `m${i}=1`);
    await jar.gotHeaders(withSetCookie("https://a.example/", many));
    assert.equal(await jar.count(), 2 + 50, "only the first 50 of one response are considered");
  });
});

/** A tough-cookie Store that answers only with promises, after a macrotask (like a database). */
class SlowStore extends MemoryCookieStore {
  constructor() {
    super();
    this.synchronous = false;
  }
}
for (const m of [
  "findCookie",
  "findCookies",
  "putCookie",
  "updateCookie",
  "removeCookie",
  "removeCookies",
  "removeAllCookies",
  "getAllCookies",
] as const) {
  const original = MemoryCookieStore.prototype[m] as (...args: unknown[]) => unknown;
  (SlowStore.prototype as unknown as Record<string, unknown>)[m] = function (this: MemoryCookieStore, ...args: unknown[]) {
    const cb = typeof args[args.length - 1] === "function" ? (args.pop() as (e: unknown, v?: unknown) => void) : undefined;
    const p = new Promise((r) => setImmediate(r)).then(() => original.apply(this, args));
    if (!cb) return p;
    p.then(
      (v) => cb(null, v),
      (e) => cb(e),
    );
    return undefined;
  };
}

describe("CookieJar request path", () => {
  it("answers the hooks without a promise on its own memory store", () => {
    const jar = new CookieJar();
    const res = withSetCookie("https://a.example/", ["a=1"]);
    assert.equal(jar.gotHeaders(res), undefined);
    const msg = new Message("GET", "https://a.example/");
    jar.requestQueued(msg);
    assert.equal(jar.beforeSend(msg), undefined);
    assert.equal(msg.requestHeaders.get("Cookie"), "a=1");
  });

  it("works the same on an asynchronous store, serializing concurrent updates", async () => {
    const store = new SlowStore();
    const jar = new CookieJar({ store, limits: { maxPerDomain: 3, maxTotal: 5 } });
    const events: string[] = [];
    jar.on("changed", (o, n) => events.push(`${o?.name ?? "-"}>${n?.name ?? "-"}`));
    const r1 = jar.gotHeaders(withSetCookie("https://a.example/", ["a=1", "b=1; Domain=a.example"]));
    assert.ok(r1 instanceof Promise);
    await Promise.all([r1, jar.gotHeaders(withSetCookie("https://a.example/", ["a=1", "b=1; Domain=a.example"]))]);
    assert.equal(await jar.count(), 2);
    assert.deepEqual(events, ["->a", "->b"]);
    assert.equal(await cookieHeaderFor(jar, "https://www.a.example/"), "b=1");
    assert.equal(await cookieHeaderFor(jar, "https://a.example/"), "a=1; b=1");
    for (let i = 0; i < 4; i++) await jar.setCookie(`https://a.example/`, `x${i}=1`);
    assert.equal(await jar.count(), 3, "per-domain cap holds on an async store");
    await jar.clear();
    assert.equal((await store.getAllCookies()).length, 0);
  });

  it("sends a stored cookie to every host it matches, and to no other", async () => {
    const jar = new CookieJar();
    await jar.setCookie("https://www.a.example/", "d=1; Domain=a.example");
    await jar.setCookie("https://www.a.example/", "h=1");
    assert.equal(await cookieHeaderFor(jar, "https://deep.www.a.example/"), "d=1");
    assert.equal(await cookieHeaderFor(jar, "https://A.EXAMPLE/"), "d=1");
    assert.equal(await cookieHeaderFor(jar, "https://www.a.example/"), "d=1; h=1");
    assert.equal(await cookieHeaderFor(jar, "https://b.example/"), null);
    await jar.setCookie("http://127.0.0.1/", "ip=1");
    assert.equal(await cookieHeaderFor(jar, "http://127.0.0.1:8080/x"), "ip=1");
    await jar.addCookie({ name: "v6", value: "1", domain: "::1" });
    assert.equal(await cookieHeaderFor(jar, "http://[::1]:8080/"), "v6=1");
  });

  it("sends cookies written to a caller-supplied store behind the jar's back", async () => {
    const store = new MemoryCookieStore();
    const jar = new CookieJar({ store });
    assert.equal(await cookieHeaderFor(jar, "https://a.example/"), null);
    const other = new JarCookie({ name: "side", value: "1", domain: "a.example" }).toTough();
    other.creation = other.lastAccessed = new Date();
    await store.putCookie(other);
    assert.equal(await cookieHeaderFor(jar, "https://a.example/"), "side=1");
  });

  it("an identical resend refreshes the cookie without a change; any difference is a change", async () => {
    const jar = new CookieJar();
    const events: string[] = [];
    jar.on("changed", (o, n) => events.push(`${o ? `${o.name}=${o.value}` : "-"}>${n ? `${n.name}=${n.value}` : "-"}`));
    const headers = ["s=1; Path=/", "m=1; Path=/; Max-Age=3600", "e=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT"];
    await jar.gotHeaders(withSetCookie("https://a.example/p", headers));
    const first = new Map((await jar.allCookies()).map((c) => [c.name, c]));
    await new Promise((r) => setTimeout(r, 5));
    await jar.gotHeaders(withSetCookie("https://a.example/p", headers));
    assert.deepEqual(events, ["->s=1", "->m=1", "->e=1"]);
    const again = await jar.allCookies();
    assert.equal(again.length, 3);
    for (const c of again) {
      assert.equal(c.creation!.getTime(), first.get(c.name)!.creation!.getTime());
      assert.ok(c.lastAccessed!.getTime() > first.get(c.name)!.lastAccessed!.getTime(), `${c.name} access time refreshed`);
    }
    // Deleted, changed through the API, or sent with another value: the full path runs again.
    await jar.deleteCookie({ name: "s", domain: "a.example", path: "/" });
    await jar.gotHeaders(withSetCookie("https://a.example/p", ["s=1; Path=/"]));
    await jar.addCookie({ name: "e", value: "api", domain: "a.example", path: "/" });
    await jar.gotHeaders(withSetCookie("https://a.example/p", [headers[2]]));
    await jar.gotHeaders(withSetCookie("https://a.example/p", ["m=2; Path=/; Max-Age=3600"]));
    assert.deepEqual(events.slice(3), ["s=1>-", "->s=1", "e=1>e=api", "e=api>e=1", "m=1>m=2"]);
    // Max-Age=0 still deletes a cookie that was resent before.
    await jar.gotHeaders(withSetCookie("https://a.example/p", ["m=2; Path=/; Max-Age=0"]));
    assert.deepEqual((await jar.allCookies()).map((c) => c.name).sort(), ["e", "s"]);
  });
});

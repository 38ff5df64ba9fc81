/**
 * GuardedStore wraps any tough-cookie Store (memory, or one of your own) and adds what the
 * jar needs on top of RFC 6265 storage:
 *  - one `onChange(old, new)` call for every add, replace and delete, whoever caused it
 *    (Set-Cookie, the API, or tough-cookie expiring a cookie while reading);
 *  - hard caps per registrable domain and in total, evicting the least recently used
 *    cookie (browsers do the same), so a hostile server cannot grow memory without bound.
 *
 * Each mutation is written once, as a generator that yields the inner-store calls it needs,
 * and run by one of two drivers:
 *  - a synchronous inner store (tough-cookie's MemoryCookieStore, `synchronous: true`) is
 *    called with callbacks and answers at once, so every mutation runs to completion in one
 *    go (atomic: nothing can interleave) and this store is synchronous too — the jar then
 *    uses tough-cookie's sync API and costs no promise hop per request;
 *  - any other store is awaited, with mutations serialized through one promise chain:
 *    tough-cookie does find-then-put, and the counts must not drift when two responses set
 *    the same cookie at once.
 */
import { canonicalDomain, Store, type Cookie } from "tough-cookie";
import { JarMemoryStore } from "./memory-store.js";
import { registrableDomain } from "./site.js";

export interface CookieLimits {
  /** Most cookies kept per registrable domain (Chromium: 180). @default 180 */
  maxPerDomain: number;
  /** Most cookies kept in the jar (Chromium: 3000). @default 3000 */
  maxTotal: number;
}

export const DEFAULT_COOKIE_LIMITS: Readonly<CookieLimits> = Object.freeze({ maxPerDomain: 180, maxTotal: 3000 });

export type ChangeListener = (oldCookie: Cookie | null, newCookie: Cookie | null) => void;

type Cb<T> = (err: Error | null, value?: T) => void;

/** tough-cookie calls stores with callbacks, applications with promises: serve both. */
function settle<T>(p: Promise<T>, cb: unknown): Promise<T> | undefined {
  if (typeof cb !== "function") return p;
  p.then(
    (v) => (cb as Cb<T>)(null, v),
    (e: Error) => (cb as Cb<T>)(e),
  );
  return undefined;
}

/** One call on the inner store, yielded by a mutation and performed by a driver. */
type Call =
  | { m: "findCookie"; a: [string | null | undefined, string | null | undefined, string | null | undefined] }
  | { m: "putCookie"; a: [Cookie] }
  | { m: "removeCookie"; a: [string | null | undefined, string | null | undefined, string | null | undefined] }
  | { m: "getAllCookies"; a: [] };
// The value sent back into the generator is the inner call's result.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Op<T> = Generator<Call, T, any>;

const REQUIRED = ["findCookie", "findCookies", "putCookie", "removeCookie", "getAllCookies"] as const;

/** A store must have the methods the jar relies on (checked at the door, like undici's assertCacheStore). */
export function assertCookieStore(store: unknown): asserts store is Store {
  if (typeof store !== "object" || store === null) throw new TypeError("CookieJar `store` must be a tough-cookie Store");
  for (const m of REQUIRED) {
    if (typeof (store as Record<string, unknown>)[m] !== "function") {
      throw new TypeError(`CookieJar \`store\` must implement ${m}() (see tough-cookie's Store)`);
    }
  }
}

export class GuardedStore extends Store {
  readonly inner: Store;
  readonly limits: CookieLimits;
  /** The inner store when it is the jar's own memory store: called directly, no callbacks. */
  readonly #fast: JarMemoryStore | null;
  #onChange: ChangeListener;
  #chain: Promise<unknown> = Promise.resolve();
  #counts: Map<string, number> | null = null;
  #total = 0;
  /** Stored cookies per exact cookie domain (what the inner store indexes lookups by). */
  #byDomain = new Map<string, number>();

  constructor(inner: Store, limits: CookieLimits, onChange: ChangeListener) {
    super();
    this.inner = inner;
    this.limits = limits;
    this.#onChange = onChange;
    this.synchronous = inner.synchronous === true;
    this.#fast = inner instanceof JarMemoryStore ? inner : null;
  }

  // ── drivers ────────────────────────────────────────────────────────────────────────────

  /** Calls the inner (synchronous) store with a callback; it must answer before returning. */
  #callSync(call: Call): unknown {
    const fast = this.#fast;
    if (fast !== null) {
      switch (call.m) {
        case "findCookie":
          return fast.findSync(...call.a);
        case "putCookie":
          return fast.putSync(...call.a);
        case "removeCookie":
          return fast.removeSync(...call.a);
        case "getAllCookies":
          return fast.allSync();
      }
    }
    let done = false;
    let error: Error | null = null;
    let value: unknown;
    const cb = (err: Error | null, v?: unknown) => {
      done = true;
      error = err;
      value = v;
    };
    const inner = this.inner as unknown as Record<string, (...args: unknown[]) => unknown>;
    inner[call.m].call(this.inner, ...call.a, cb);
    if (!done) throw new Error(`CookieJar store claims to be synchronous but ${call.m}() did not answer synchronously`);
    if (error) throw error;
    return value;
  }

  #runSync<T>(op: Op<T>): T {
    let step = op.next();
    while (!step.done) {
      let value: unknown;
      try {
        value = this.#callSync(step.value);
      } catch (err) {
        step = op.throw(err);
        continue;
      }
      step = op.next(value);
    }
    return step.value;
  }

  async #runAsync<T>(op: Op<T>): Promise<T> {
    let step = op.next();
    while (!step.done) {
      const call = step.value;
      let value: unknown;
      try {
        const inner = this.inner as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
        value = await inner[call.m].apply(this.inner, call.a);
      } catch (err) {
        step = op.throw(err);
        continue;
      }
      step = op.next(value);
    }
    return step.value;
  }

  /** Runs a mutation: at once on a synchronous store, serialized on the chain otherwise. */
  #exec<T>(make: () => Op<T>, cb: unknown): any {
    if (!this.synchronous) {
      const run = this.#chain.then(
        () => this.#runAsync(make()),
        () => this.#runAsync(make()),
      );
      this.#chain = run.catch(() => undefined);
      return settle(run, cb);
    }
    let value: T;
    try {
      value = this.#runSync(make());
    } catch (err) {
      if (typeof cb === "function") {
        (cb as Cb<T>)(err as Error);
        return undefined;
      }
      return Promise.reject(err as Error);
    }
    if (typeof cb === "function") {
      (cb as Cb<T>)(null, value);
      return undefined;
    }
    return Promise.resolve(value);
  }

  /** Reads go straight to the inner store (its own callback/promise handling). */
  #read<T>(call: Call, cb: unknown): any {
    if (this.synchronous && typeof cb === "function") {
      let value: unknown;
      try {
        value = this.#callSync(call);
      } catch (err) {
        (cb as Cb<T>)(err as Error);
        return undefined;
      }
      (cb as Cb<T>)(null, value as T);
      return undefined;
    }
    const inner = this.inner as unknown as Record<string, (...args: unknown[]) => Promise<T>>;
    return settle(inner[call.m].apply(this.inner, call.a), cb);
  }

  #emit(oldCookie: Cookie | null, newCookie: Cookie | null): void {
    try {
      this.#onChange(oldCookie, newCookie);
    } catch {
      // A throwing listener must not corrupt the store's bookkeeping.
    }
  }

  // ── the Store interface ────────────────────────────────────────────────────────────────

  override findCookie(domain: string | null | undefined, path: string | null | undefined, key: string | null | undefined, cb?: unknown): any {
    if (this.#fast !== null && typeof cb === "function") {
      (cb as Cb<Cookie | undefined>)(null, this.#fast.findSync(domain, path, key));
      return undefined;
    }
    return this.#read({ m: "findCookie", a: [domain, path, key] }, cb);
  }

  override findCookies(domain: string | null | undefined, path: string | null | undefined, allowSpecialUseDomain?: unknown, cb?: unknown): any {
    if (typeof allowSpecialUseDomain === "function") {
      cb = allowSpecialUseDomain;
      allowSpecialUseDomain = false;
    }
    const special = allowSpecialUseDomain === true;
    if (this.#fast !== null && typeof cb === "function") {
      let found: Cookie[];
      try {
        found = this.#fast.findAllSync(domain, path, special);
      } catch (err) {
        (cb as Cb<Cookie[]>)(err as Error);
        return undefined;
      }
      (cb as Cb<Cookie[]>)(null, found);
      return undefined;
    }
    if (this.synchronous && typeof cb === "function") {
      let done = false;
      let error: Error | null = null;
      let value: Cookie[] = [];
      try {
        this.inner.findCookies(domain, path, special, (err: Error | null, v?: Cookie[]) => {
          done = true;
          error = err;
          value = v ?? [];
        });
        if (!done) throw new Error("CookieJar store claims to be synchronous but findCookies() did not answer synchronously");
      } catch (err) {
        error = err as Error;
      }
      if (error) (cb as Cb<Cookie[]>)(error);
      else (cb as Cb<Cookie[]>)(null, value);
      return undefined;
    }
    return settle(this.inner.findCookies(domain, path, special), cb);
  }

  override putCookie(cookie: Cookie, cb?: unknown): any {
    return this.#exec(() => this.#put(cookie), cb);
  }

  override updateCookie(oldCookie: Cookie, newCookie: Cookie, cb?: unknown): any {
    // tough-cookie's updateCookie carries the old value it found; we still look it up inside
    // the mutation so a concurrent delete is not resurrected silently.
    return this.#exec(() => this.#put(newCookie), cb);
  }

  override removeCookie(domain: string | null | undefined, path: string | null | undefined, key: string | null | undefined, cb?: unknown): any {
    return this.#exec(() => this.#remove(domain, path, key), cb);
  }

  override removeCookies(domain: string, path: string | null | undefined, cb?: unknown): any {
    const self = this;
    return this.#exec(function* () {
      const all: Cookie[] = yield { m: "getAllCookies", a: [] };
      for (const c of all) {
        if (c.domain === domain && (path == null || c.path === path)) yield* self.#remove(c.domain, c.path, c.key);
      }
    }, cb);
  }

  override removeAllCookies(cb?: unknown): any {
    const self = this;
    return this.#exec(function* () {
      const all: Cookie[] = yield { m: "getAllCookies", a: [] };
      for (const c of all) yield* self.#remove(c.domain, c.path, c.key);
    }, cb);
  }

  override getAllCookies(cb?: unknown): any {
    return this.#read({ m: "getAllCookies", a: [] }, cb);
  }

  // ── what the jar asks besides the Store interface ──────────────────────────────────────

  /** True when any stored cookie belongs to registrable domain `site` (GRANDFATHERED policy). */
  async hasCookiesForSite(site: string): Promise<boolean> {
    const counts = await this.#exec(() => this.#ensureCounts(), undefined);
    return (counts.get(site) ?? 0) > 0;
  }

  /** hasCookiesForSite for a synchronous store. */
  hasCookiesForSiteSync(site: string): boolean {
    return (this.#runSync(this.#ensureCounts()).get(site) ?? 0) > 0;
  }

  /**
   * Synchronous stores only: true when no stored cookie can match `host`. Valid only while
   * every change goes through this store (the jar uses it for stores it created itself).
   */
  isEmptyForHostSync(host: string): boolean {
    if (this.#counts === null) this.#runSync(this.#ensureCounts());
    if (this.#total === 0) return true;
    // A cookie can match `host` only if its domain is the host or a dot-suffix of it.
    for (const d of domainCandidates(host)) if (this.#byDomain.has(d)) return false;
    return true;
  }

  /** The jar's own memory store only: true when `cookie` (that object) is the one stored. */
  holdsSync(cookie: Cookie): boolean {
    return this.#fast !== null && this.#fast.findSync(cookie.domain, cookie.path, cookie.key) === cookie;
  }

  /**
   * The jar's own memory store only. Storing an identical copy of `cookie` (the same
   * Set-Cookie again) would replace it keeping its creation time, set its access time to now,
   * and emit nothing (#put: same content). When that is what would happen, do it in place and
   * return true; false (nothing done) when the full path must run: the cookie is no longer
   * the stored one, has expired, or its Max-Age expiry would move by a second or more (a
   * change, with an event and a disk write).
   */
  refreshSync(cookie: Cookie): boolean {
    if (!this.holdsSync(cookie)) return false;
    const now = Date.now();
    const exp = cookie.expiryTime();
    if (exp !== undefined && exp <= now) return false;
    if (cookie.maxAge != null && cookie.maxAge !== "Infinity") {
      const last = cookie.lastAccessed;
      if (!(last instanceof Date) || now - last.getTime() >= 1000) return false;
    }
    cookie.lastAccessed = new Date(now);
    return true;
  }

  /** Number of stored cookies (including ones that expired but were not yet swept). */
  async count(): Promise<number> {
    await this.#exec(() => this.#ensureCounts(), undefined);
    return this.#total;
  }

  // ── the mutations ──────────────────────────────────────────────────────────────────────

  *#ensureCounts(): Op<Map<string, number>> {
    if (this.#counts !== null) return this.#counts;
    const all: Cookie[] = yield { m: "getAllCookies", a: [] };
    if (this.#counts !== null) return this.#counts;
    const counts = new Map<string, number>();
    this.#byDomain.clear();
    for (const c of all) {
      const k = keyOf(c);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      bump(this.#byDomain, c.domain ?? "", 1);
    }
    this.#counts = counts;
    this.#total = all.length;
    return counts;
  }

  *#put(cookie: Cookie): Op<void> {
    const counts = yield* this.#ensureCounts();
    const old: Cookie | null = (yield { m: "findCookie", a: [cookie.domain, cookie.path, cookie.key] }) ?? null;
    // RFC 6265 §5.3 step 11-12: an already-expired cookie (Max-Age=0, past Expires) deletes
    // the old one and is not stored itself (tough-cookie would store it and sweep later).
    const exp = cookie.expiryTime();
    if (exp !== undefined && exp <= Date.now()) {
      if (old !== null) yield* this.#remove(old.domain, old.path, old.key);
      return;
    }
    yield { m: "putCookie", a: [cookie] };
    if (old === null) {
      const k = keyOf(cookie);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      bump(this.#byDomain, cookie.domain ?? "", 1);
      this.#total++;
    }
    // A refresh that changes nothing but access times is not a change (no event, no disk write).
    if (old === null || !sameContent(old, cookie)) this.#emit(old, cookie);
    if (old === null) yield* this.#evict(cookie);
  }

  *#remove(domain: string | null | undefined, path: string | null | undefined, key: string | null | undefined): Op<void> {
    const counts = yield* this.#ensureCounts();
    const old: Cookie | null = (yield { m: "findCookie", a: [domain, path, key] }) ?? null;
    yield { m: "removeCookie", a: [domain, path, key] };
    if (old === null) return;
    const k = keyOf(old);
    const n = (counts.get(k) ?? 1) - 1;
    if (n <= 0) counts.delete(k);
    else counts.set(k, n);
    bump(this.#byDomain, old.domain ?? "", -1);
    this.#total = Math.max(0, this.#total - 1);
    this.#emit(old, null);
  }

  /**
   * Over a cap: drop expired cookies first, then the least recently used ones, never the
   * cookie that was just stored.
   */
  *#evict(fresh: Cookie): Op<void> {
    const counts = this.#counts!;
    const k = keyOf(fresh);
    const overDomain = (counts.get(k) ?? 0) - this.limits.maxPerDomain;
    const overTotal = this.#total - this.limits.maxTotal;
    if (overDomain <= 0 && overTotal <= 0) return;
    const now = Date.now();
    const everything: Cookie[] = yield { m: "getAllCookies", a: [] };
    const all = everything.filter((c) => c !== fresh && !sameId(c, fresh));
    const rank = (c: Cookie) => {
      const exp = c.expiryTime();
      const expired = exp !== undefined && exp <= now;
      return [expired ? 0 : 1, c.lastAccessed instanceof Date ? c.lastAccessed.getTime() : 0] as const;
    };
    const byAge = (a: Cookie, b: Cookie) => {
      const ra = rank(a),
        rb = rank(b);
      return ra[0] - rb[0] || ra[1] - rb[1];
    };
    if (overDomain > 0) {
      const victims = all
        .filter((c) => keyOf(c) === k)
        .sort(byAge)
        .slice(0, overDomain);
      for (const v of victims) yield* this.#remove(v.domain, v.path, v.key);
    }
    const stillOver = this.#total - this.limits.maxTotal;
    if (stillOver > 0) {
      const remaining: Cookie[] = yield { m: "getAllCookies", a: [] };
      const rest = remaining
        .filter((c) => !sameId(c, fresh))
        .sort(byAge)
        .slice(0, stillOver);
      for (const v of rest) yield* this.#remove(v.domain, v.path, v.key);
    }
  }
}

function keyOf(c: Cookie): string {
  return registrableDomain(c.domain ?? "");
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

// The domains a cookie for a host may be stored under, per host (bounded memo: the jar asks
// for the same few hosts on every request).
const CANDIDATES_MAX = 4096;
const candidates = new Map<string, readonly string[]>();

function domainCandidates(host: string): readonly string[] {
  const hit = candidates.get(host);
  if (hit !== undefined) return hit;
  let h: string;
  try {
    h = canonicalDomain(host) ?? host;
  } catch {
    h = host.toLowerCase();
  }
  const list = new Set<string>([host]);
  for (const base of new Set([h, h.replace(/\.+$/, "")])) {
    list.add(base);
    for (let i = base.indexOf("."); i !== -1; i = base.indexOf(".", i + 1)) list.add(base.slice(i + 1));
  }
  const result = [...list];
  if (candidates.size >= CANDIDATES_MAX) candidates.clear();
  candidates.set(host, result);
  return result;
}

function sameId(a: Cookie, b: Cookie): boolean {
  return a.domain === b.domain && a.path === b.path && a.key === b.key;
}

function sameContent(a: Cookie, b: Cookie): boolean {
  const ta = a.expiryTime(),
    tb = b.expiryTime();
  const sameExpiry = ta === tb || (ta !== undefined && tb !== undefined && Math.abs(ta - tb) < 1000);
  return (
    sameExpiry &&
    a.value === b.value &&
    a.secure === b.secure &&
    a.httpOnly === b.httpOnly &&
    a.sameSite === b.sameSite &&
    a.hostOnly === b.hostOnly &&
    sameId(a, b)
  );
}

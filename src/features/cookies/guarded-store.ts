/**
 * GuardedStore wraps any tough-cookie Store (memory, or one of your own) and adds what the
 * jar needs on top of RFC 6265 storage:
 *  - one `onChange(old, new)` call for every add, replace and delete, whoever caused it
 *    (Set-Cookie, the API, or tough-cookie expiring a cookie while reading);
 *  - hard caps per registrable domain and in total, evicting the least recently used
 *    cookie (browsers do the same), so a hostile server cannot grow memory without bound.
 * Mutations are serialized through one promise chain: tough-cookie does find-then-put, and
 * the counts must not drift when two responses set the same cookie at once.
 */
import { Store, type Cookie } from "tough-cookie";
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
  #onChange: ChangeListener;
  #chain: Promise<unknown> = Promise.resolve();
  #counts: Map<string, number> | null = null;
  #total = 0;

  constructor(inner: Store, limits: CookieLimits, onChange: ChangeListener) {
    super();
    this.inner = inner;
    this.limits = limits;
    this.#onChange = onChange;
    this.synchronous = false;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #ensureCounts(): Promise<Map<string, number>> {
    if (this.#counts !== null) return this.#counts;
    const counts = new Map<string, number>();
    const all = await this.inner.getAllCookies();
    for (const c of all) counts.set(keyOf(c), (counts.get(keyOf(c)) ?? 0) + 1);
    this.#counts = counts;
    this.#total = all.length;
    return counts;
  }

  #emit(oldCookie: Cookie | null, newCookie: Cookie | null): void {
    try {
      this.#onChange(oldCookie, newCookie);
    } catch {
      // A throwing listener must not corrupt the store's bookkeeping.
    }
  }

  override findCookie(domain: string | null | undefined, path: string | null | undefined, key: string | null | undefined, cb?: unknown): any {
    return settle(this.inner.findCookie(domain, path, key), cb);
  }

  override findCookies(domain: string | null | undefined, path: string | null | undefined, allowSpecialUseDomain?: unknown, cb?: unknown): any {
    if (typeof allowSpecialUseDomain === "function") {
      cb = allowSpecialUseDomain;
      allowSpecialUseDomain = false;
    }
    return settle(this.inner.findCookies(domain, path, allowSpecialUseDomain === true), cb);
  }

  override putCookie(cookie: Cookie, cb?: unknown): any {
    return settle(
      this.#serial(() => this.#put(cookie)),
      cb,
    );
  }

  async #put(cookie: Cookie): Promise<void> {
    const counts = await this.#ensureCounts();
    const old = (await this.inner.findCookie(cookie.domain, cookie.path, cookie.key)) ?? null;
    // RFC 6265 §5.3 step 11-12: an already-expired cookie (Max-Age=0, past Expires) deletes
    // the old one and is not stored itself (tough-cookie would store it and sweep later).
    const exp = cookie.expiryTime();
    if (exp !== undefined && exp <= Date.now()) {
      if (old !== null) await this.#remove(old.domain, old.path, old.key);
      return;
    }
    await this.inner.putCookie(cookie);
    if (old === null) {
      const k = keyOf(cookie);
      counts.set(k, (counts.get(k) ?? 0) + 1);
      this.#total++;
    }
    // A refresh that changes nothing but access times is not a change (no event, no disk write).
    if (old === null || !sameContent(old, cookie)) this.#emit(old, cookie);
    if (old === null) await this.#evict(cookie);
  }

  override updateCookie(oldCookie: Cookie, newCookie: Cookie, cb?: unknown): any {
    // tough-cookie's updateCookie carries the old value it found; we still look it up inside
    // the serialized section so a concurrent delete is not resurrected silently.
    return settle(
      this.#serial(() => this.#put(newCookie)),
      cb,
    );
  }

  override removeCookie(domain: string | null | undefined, path: string | null | undefined, key: string | null | undefined, cb?: unknown): any {
    return settle(
      this.#serial(() => this.#remove(domain, path, key)),
      cb,
    );
  }

  async #remove(domain: string | null | undefined, path: string | null | undefined, key: string | null | undefined): Promise<void> {
    const counts = await this.#ensureCounts();
    const old = (await this.inner.findCookie(domain, path, key)) ?? null;
    await this.inner.removeCookie(domain, path, key);
    if (old === null) return;
    const k = keyOf(old);
    const n = (counts.get(k) ?? 1) - 1;
    if (n <= 0) counts.delete(k);
    else counts.set(k, n);
    this.#total = Math.max(0, this.#total - 1);
    this.#emit(old, null);
  }

  override removeCookies(domain: string, path: string | null | undefined, cb?: unknown): any {
    return settle(
      this.#serial(async () => {
        const all = await this.inner.getAllCookies();
        for (const c of all) {
          if (c.domain === domain && (path == null || c.path === path)) await this.#remove(c.domain, c.path, c.key);
        }
      }),
      cb,
    );
  }

  override removeAllCookies(cb?: unknown): any {
    return settle(
      this.#serial(async () => {
        const all = await this.inner.getAllCookies();
        for (const c of all) await this.#remove(c.domain, c.path, c.key);
      }),
      cb,
    );
  }

  override getAllCookies(cb?: unknown): any {
    return settle(this.inner.getAllCookies(), cb);
  }

  /** True when any stored cookie belongs to registrable domain `site` (GRANDFATHERED policy). */
  async hasCookiesForSite(site: string): Promise<boolean> {
    const counts = await this.#serial(() => this.#ensureCounts());
    return (counts.get(site) ?? 0) > 0;
  }

  /** Number of stored cookies (including ones that expired but were not yet swept). */
  async count(): Promise<number> {
    await this.#serial(() => this.#ensureCounts());
    return this.#total;
  }

  /**
   * Over a cap: drop expired cookies first, then the least recently used ones, never the
   * cookie that was just stored.
   */
  async #evict(fresh: Cookie): Promise<void> {
    const counts = this.#counts!;
    const k = keyOf(fresh);
    const overDomain = (counts.get(k) ?? 0) - this.limits.maxPerDomain;
    const overTotal = this.#total - this.limits.maxTotal;
    if (overDomain <= 0 && overTotal <= 0) return;
    const now = Date.now();
    const all = (await this.inner.getAllCookies()).filter((c) => c !== fresh && !sameId(c, fresh));
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
      for (const v of victims) await this.#remove(v.domain, v.path, v.key);
    }
    const stillOver = this.#total - this.limits.maxTotal;
    if (stillOver > 0) {
      const rest = (await this.inner.getAllCookies())
        .filter((c) => !sameId(c, fresh))
        .sort(byAge)
        .slice(0, stillOver);
      for (const v of rest) await this.#remove(v.domain, v.path, v.key);
    }
  }
}

function keyOf(c: Cookie): string {
  return registrableDomain(c.domain ?? "");
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

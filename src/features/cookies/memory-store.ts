/**
 * JarMemoryStore: the in-memory tough-cookie Store a CookieJar uses when it is given none.
 * It stores and finds cookies exactly as tough-cookie's MemoryCookieStore does (same
 * domain × path × key index, same `permuteDomain` + `pathMatch` lookup), and is a full
 * Store (callbacks and promises) — but it also offers plain synchronous methods, so the
 * guard layer can use it without allocating a promise per call, and it remembers the domain
 * permutations (a Public Suffix List walk) per host instead of redoing them on every request.
 */
import { pathMatch, permuteDomain, Store, type Cookie } from "tough-cookie";

type Cb<T> = (err: Error | null, value?: T) => void;
type Key = string | null | undefined;

/** Answers through the callback when there is one, else as a promise (the Store contract). */
function answer<T>(value: T, cb: unknown): any {
  if (typeof cb !== "function") return Promise.resolve(value);
  (cb as Cb<T>)(null, value);
  return undefined;
}

const PERMUTATIONS_MAX = 4096;

export class JarMemoryStore extends Store {
  /** domain → path → key → cookie, insertion-ordered. */
  readonly #idx = new Map<string, Map<string, Map<string, Cookie>>>();
  readonly #permutations = new Map<string, readonly string[]>();

  constructor() {
    super();
    this.synchronous = true;
  }

  // ── synchronous API (used by GuardedStore) ─────────────────────────────────────────────

  findSync(domain: Key, path: Key, key: Key): Cookie | undefined {
    if (domain == null || path == null || key == null) return undefined;
    return this.#idx.get(domain)?.get(path)?.get(key);
  }

  findAllSync(domain: Key, path: Key, allowSpecialUseDomain: boolean): Cookie[] {
    const results: Cookie[] = [];
    if (!domain) return results;
    for (const d of this.#domainsFor(domain, allowSpecialUseDomain)) {
      const byPath = this.#idx.get(d);
      if (byPath === undefined) continue;
      for (const [cookiePath, byKey] of byPath) {
        if (path && !pathMatch(path, cookiePath)) continue;
        for (const c of byKey.values()) results.push(c);
      }
    }
    return results;
  }

  putSync(cookie: Cookie): void {
    const { domain, path, key } = cookie;
    if (domain == null || path == null || key == null) return;
    let byPath = this.#idx.get(domain);
    if (byPath === undefined) this.#idx.set(domain, (byPath = new Map()));
    let byKey = byPath.get(path);
    if (byKey === undefined) byPath.set(path, (byKey = new Map()));
    byKey.set(key, cookie);
  }

  removeSync(domain: Key, path: Key, key: Key): void {
    if (domain == null || path == null || key == null) return;
    const byPath = this.#idx.get(domain);
    const byKey = byPath?.get(path);
    if (byKey === undefined || !byKey.delete(key)) return;
    if (byKey.size === 0) byPath!.delete(path);
    if (byPath!.size === 0) this.#idx.delete(domain);
  }

  allSync(): Cookie[] {
    const out: Cookie[] = [];
    for (const byPath of this.#idx.values()) for (const byKey of byPath.values()) for (const c of byKey.values()) out.push(c);
    return out;
  }

  /** tough-cookie's permuteDomain (the host and its parents down to the registrable domain), memoized. */
  #domainsFor(domain: string, allowSpecialUseDomain: boolean): readonly string[] {
    const memoKey = allowSpecialUseDomain ? domain : `\0${domain}`;
    let list = this.#permutations.get(memoKey);
    if (list === undefined) {
      list = permuteDomain(domain, allowSpecialUseDomain) ?? [domain];
      if (this.#permutations.size >= PERMUTATIONS_MAX) this.#permutations.clear();
      this.#permutations.set(memoKey, list);
    }
    return list;
  }

  // ── the Store interface ────────────────────────────────────────────────────────────────

  override findCookie(domain: Key, path: Key, key: Key, cb?: unknown): any {
    return answer(this.findSync(domain, path, key), cb);
  }

  override findCookies(domain: Key, path: Key, allowSpecialUseDomain?: unknown, cb?: unknown): any {
    if (typeof allowSpecialUseDomain === "function") {
      cb = allowSpecialUseDomain;
      allowSpecialUseDomain = true; // as MemoryCookieStore
    }
    return answer(this.findAllSync(domain, path, allowSpecialUseDomain === true), cb);
  }

  override putCookie(cookie: Cookie, cb?: unknown): any {
    this.putSync(cookie);
    return answer(undefined, cb);
  }

  override updateCookie(_oldCookie: Cookie, newCookie: Cookie, cb?: unknown): any {
    this.putSync(newCookie);
    return answer(undefined, cb);
  }

  override removeCookie(domain: Key, path: Key, key: Key, cb?: unknown): any {
    this.removeSync(domain, path, key);
    return answer(undefined, cb);
  }

  override removeCookies(domain: string, path: Key, cb?: unknown): any {
    if (path) {
      const byPath = this.#idx.get(domain);
      byPath?.delete(path);
      if (byPath?.size === 0) this.#idx.delete(domain);
    } else {
      this.#idx.delete(domain);
    }
    return answer(undefined, cb);
  }

  override removeAllCookies(cb?: unknown): any {
    this.#idx.clear();
    return answer(undefined, cb);
  }

  override getAllCookies(cb?: unknown): any {
    return answer(this.allSync(), cb);
  }
}

/**
 * The credential cache: accepted Auth objects by origin and protection space (path
 * prefixes), plus an index by scheme and realm so that a challenge for a realm we already
 * hold credentials for is answered without asking again (libsoup's auth_realms).
 *
 * Bounded on purpose: a server controls the protection space (Digest `domain`), so the
 * number of origins and of spaces per origin is capped; the oldest entries go first.
 */
import type { Auth } from "./auth.js";

const MAX_ORIGINS = 256;
const MAX_SPACES_PER_ORIGIN = 64;

interface OriginEntry {
  spaces: Array<{ path: string; auth: Auth }>;
  realms: Map<string, Auth>;
}

const realmKey = (auth: Auth) => `${auth.schemeName.toLowerCase()} ${auth.realm}`;

export class AuthCache {
  #origins = new Map<string, OriginEntry>();

  get size(): number {
    return this.#origins.size;
  }

  /** Records `auth` for every path of its protection space on its origin. */
  add(auth: Auth): void {
    let entry = this.#origins.get(auth.origin);
    if (entry === undefined) {
      if (this.#origins.size >= MAX_ORIGINS) this.#origins.delete(this.#origins.keys().next().value!);
      entry = { spaces: [], realms: new Map() };
      this.#origins.set(auth.origin, entry);
    }
    for (const path of auth.getProtectionSpace()) {
      entry.spaces = entry.spaces.filter((s) => s.path !== path);
      entry.spaces.push({ path, auth });
    }
    if (entry.spaces.length > MAX_SPACES_PER_ORIGIN) entry.spaces.splice(0, entry.spaces.length - MAX_SPACES_PER_ORIGIN);
    entry.realms.set(realmKey(auth), auth);
  }

  /** The authenticated Auth whose protection space holds `url` (longest path prefix wins). */
  lookup(url: URL): Auth | null {
    const entry = this.#origins.get(url.origin);
    if (entry === undefined) return null;
    let best: { path: string; auth: Auth } | null = null;
    const path = url.pathname;
    for (const s of entry.spaces) {
      if (!s.auth.isAuthenticated || !path.startsWith(s.path)) continue;
      if (best === null || s.path.length > best.path.length) best = s;
    }
    return best?.auth ?? null;
  }

  /** Credentials for `scheme` + `realm` on `origin` (an Auth preloaded without a realm matches any). */
  lookupRealm(origin: string, scheme: string, realm: string): Auth | null {
    const entry = this.#origins.get(origin);
    if (entry === undefined) return null;
    const s = scheme.toLowerCase();
    const hit = entry.realms.get(`${s} ${realm}`) ?? entry.realms.get(`${s} `);
    return hit?.isAuthenticated ? hit : null;
  }

  /** Forgets one Auth (its credentials were rejected). */
  remove(auth: Auth): void {
    const entry = this.#origins.get(auth.origin);
    if (entry === undefined) return;
    entry.spaces = entry.spaces.filter((s) => s.auth !== auth);
    for (const [k, v] of entry.realms) if (v === auth) entry.realms.delete(k);
    if (entry.spaces.length === 0 && entry.realms.size === 0) this.#origins.delete(auth.origin);
  }

  clear(): void {
    this.#origins.clear();
  }
}

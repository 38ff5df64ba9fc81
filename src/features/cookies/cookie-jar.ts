/**
 * CookieJar: libsoup's SoupCookieJar as a session feature. RFC 6265 rules (public
 * suffixes, Domain/Path matching, Secure, HttpOnly, SameSite, __Secure-/__Host- prefixes,
 * expiry) come from tough-cookie; this class adds what a session needs around them:
 * the accept policies, SameSite context from the message, per-hop Cookie headers across
 * redirects, caps against hostile servers, and a `changed` event for persistence.
 */
import { EventEmitter } from "node:events";
import { Cookie, CookieJar as ToughJar, type Store } from "tough-cookie";
import { InvalidArgumentError } from "../../errors.js";
import { FeatureOrder, type SessionFeature } from "../../http/feature.js";
import type { Message } from "../../http/message.js";
import { CookieJarAcceptPolicy, isAcceptPolicy, type CookieJarAcceptPolicyValue } from "./accept-policy.js";
import { assertCookieStore, DEFAULT_COOKIE_LIMITS, GuardedStore, type CookieLimits } from "./guarded-store.js";
import { JarCookie, type CookieInit } from "./jar-cookie.js";
import { JarMemoryStore } from "./memory-store.js";
import { canonicalHost, isSameSite, registrableDomain } from "./site.js";

/** Input limits applied before tough-cookie parses anything (documented in docs/features/cookies-hsts.md). */
export const SET_COOKIE_LIMITS = Object.freeze({
  /** A longer Set-Cookie header value is dropped unparsed. */
  maxHeaderLength: 8192,
  /** name + value longer than this is dropped (RFC 6265 §6.1's minimum, Chromium's maximum). */
  maxNameValueLength: 4096,
  /** Only the first N Set-Cookie headers of one response are considered. */
  maxPerResponse: 50,
});

export interface CookieJarOptions {
  /** @default CookieJarAcceptPolicy.ALWAYS (as libsoup) */
  acceptPolicy?: CookieJarAcceptPolicyValue;
  /**
   * Any tough-cookie Store. @default the jar's own in-memory store (indexed and matched as
   * tough-cookie's MemoryCookieStore, without a promise per call)
   */
  store?: Store;
  /** Caps per registrable domain and in total. @default { maxPerDomain: 180, maxTotal: 3000 } */
  limits?: Partial<CookieLimits>;
  /**
   * Treat http://localhost and loopback IPs as secure contexts for Secure cookies (what
   * browsers do). Set false to require https strictly. @default true
   */
  secureOnLocalhost?: boolean;
}

export interface CookieJarEvents {
  /** A cookie was added (old null), replaced, or deleted (new null). */
  changed: [oldCookie: JarCookie | null, newCookie: JarCookie | null];
  /** The store failed (e.g. disk full). The request itself goes on without cookies. */
  error: [error: Error];
}

export interface GetCookiesOptions {
  /** false = a non-HTTP API (HttpOnly cookies left out). @default true */
  forHttp?: boolean;
  /** Site the request is made for; null/absent = SameSite not enforced. */
  siteForCookies?: URL | string | null;
  isTopLevelNavigation?: boolean;
  /** @default "GET" */
  method?: string;
}

export interface SetCookieOptions {
  /** The first party for the accept policy (libsoup's set_cookie_with_first_party). */
  firstParty?: URL | string | null;
  /** false = a non-HTTP API (HttpOnly cookies refused). @default true */
  forHttp?: boolean;
}

type SameSiteContext = "strict" | "lax" | "none" | undefined;
/** Visible ASCII, space, tab and obs-text: what a header value may hold. */
const SENDABLE = /^[\t\x20-\x7e\x80-\xff]*$/;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
/** Bounds of the resend memo (cleared when full; longer headers are not remembered). */
const RESENT_MAX = 1024;
const RESENT_MAX_HEADER = 512;

interface AppCookie {
  host: string;
  value: string;
}

export class CookieJar extends EventEmitter<CookieJarEvents> implements SessionFeature {
  readonly order: number = FeatureOrder.COOKIES;
  /** @internal the guarded store; persistent subclasses load into `store.inner`. */
  protected readonly store: GuardedStore;
  readonly #tough: ToughJar;
  #policy: CookieJarAcceptPolicyValue;
  /** The Cookie header the application set itself, kept for hops to the same host. */
  readonly #appCookies = new WeakMap<Message, AppCookie>();
  /** The store answers synchronously (memory): the hooks then never await. */
  readonly #sync: boolean;
  /** The jar owns its store (nothing else writes to it), so its counts can skip lookups. */
  readonly #ownStore: boolean;
  /**
   * Set-Cookie values already stored, keyed with everything tough-cookie's verdict depends
   * on, and the cookie each one stored: servers resend the same cookies on every response,
   * and an identical resend only refreshes the stored cookie's access time (see #storeSync).
   */
  readonly #resent = new Map<string, Cookie>();
  #closed = false;

  constructor(options: CookieJarOptions = {}) {
    super();
    const policy = options.acceptPolicy ?? CookieJarAcceptPolicy.ALWAYS;
    if (!isAcceptPolicy(policy)) throw new InvalidArgumentError("CookieJar: `acceptPolicy` must be a CookieJarAcceptPolicy value");
    this.#policy = policy;
    const inner = options.store ?? new JarMemoryStore();
    assertCookieStore(inner);
    const limits = { ...DEFAULT_COOKIE_LIMITS, ...options.limits };
    for (const k of ["maxPerDomain", "maxTotal"] as const) {
      if (!Number.isInteger(limits[k]) || limits[k] < 1) throw new InvalidArgumentError(`CookieJar: \`limits.${k}\` must be a positive integer`);
    }
    this.store = new GuardedStore(inner, limits, (o, n) => this.#changed(o, n));
    this.#sync = this.store.synchronous;
    this.#ownStore = options.store === undefined;
    this.#tough = new ToughJar(this.store, {
      rejectPublicSuffixes: true,
      allowSpecialUseDomain: true,
      allowSecureOnLocal: options.secureOnLocalhost ?? true,
      prefixSecurity: "strict",
      looseMode: false,
    });
  }

  get acceptPolicy(): CookieJarAcceptPolicyValue {
    return this.#policy;
  }

  set acceptPolicy(policy: CookieJarAcceptPolicyValue) {
    if (!isAcceptPolicy(policy)) throw new InvalidArgumentError("CookieJar: `acceptPolicy` must be a CookieJarAcceptPolicy value");
    this.#policy = policy;
  }

  /** libsoup's is_persistent: true for jars that survive a restart. */
  get isPersistent(): boolean {
    return false;
  }

  // ── the feature hooks ──────────────────────────────────────────────────────────────────

  requestQueued(msg: Message): void {
    const value = msg.requestHeaders.get("Cookie");
    // Most messages carry no Cookie of their own: keep the WeakMap write for those that do.
    if (value !== null) this.#appCookies.set(msg, { host: msg.url.hostname, value });
    else if (this.#appCookies.has(msg)) this.#appCookies.delete(msg);
  }

  /**
   * Sets (replaces) the Cookie header for the current hop's URL. With a synchronous store
   * (the default memory store) this returns without a promise.
   */
  beforeSend(msg: Message): void | Promise<void> {
    if (!this.#sync) return this.#beforeSendAsync(msg);
    const url = msg.url;
    const app = this.#appCookies.get(msg);
    // The application's own Cookie header stays with its host (cookies are host-scoped, not
    // scheme- or port-scoped, so an HSTS upgrade keeps it); the session strips it on a
    // cross-origin redirect and we must not bring it back for another host.
    let header = app && app.host === url.hostname ? app.value : null;
    try {
      if (!(this.#ownStore && this.store.isEmptyForHostSync(url.hostname))) {
        const cookies = this.#tough.getCookiesSync(url, this.#lookupOptions(msg));
        header = appendPairs(header, cookies);
      }
    } catch (err) {
      this.#report(err);
    }
    if (header !== null) msg.requestHeaders.set("Cookie", header);
    else msg.requestHeaders.delete("Cookie");
  }

  async #beforeSendAsync(msg: Message): Promise<void> {
    const app = this.#appCookies.get(msg);
    let header = app && app.host === msg.url.hostname ? app.value : null;
    try {
      header = appendPairs(header, await this.#tough.getCookies(msg.url, this.#lookupOptions(msg)));
    } catch (err) {
      this.#report(err);
    }
    if (header !== null) msg.requestHeaders.set("Cookie", header);
    else msg.requestHeaders.delete("Cookie");
  }

  #lookupOptions(msg: Message): { http: boolean; sameSiteContext: SameSiteContext; sort: boolean } {
    return {
      http: true,
      sameSiteContext: sameSiteContext(msg.url, msg.siteForCookies, msg.isTopLevelNavigation, msg.method),
      sort: true,
    };
  }

  /**
   * Stores every Set-Cookie of every response, 3xx included, under the accept policy. With a
   * synchronous store this returns without a promise.
   */
  gotHeaders(msg: Message): void | Promise<void> {
    if (this.#policy === CookieJarAcceptPolicy.NEVER) return;
    // A 407 on an https URL is the proxy refusing our CONNECT (the session shows it as the
    // message's response): the proxy must not plant cookies for the origin behind the tunnel.
    if (msg.status === 407 && (msg.url.protocol === "https:" || msg.url.protocol === "wss:")) return;
    const headers = msg.responseHeaders.getAll("Set-Cookie");
    if (headers.length === 0) return;
    const context = sameSiteContext(msg.url, msg.siteForCookies, msg.isTopLevelNavigation, msg.method);
    const n = Math.min(headers.length, SET_COOKIE_LIMITS.maxPerResponse);
    if (!this.#sync) return this.#gotHeadersAsync(msg, headers, n, context);
    for (let i = 0; i < n; i++) {
      try {
        this.#storeSync(headers[i], msg.url, msg.firstParty, context, true);
      } catch (err) {
        this.#report(err);
      }
    }
  }

  async #gotHeadersAsync(msg: Message, headers: string[], n: number, context: SameSiteContext): Promise<void> {
    for (let i = 0; i < n; i++) {
      try {
        await this.#store(headers[i], msg.url, msg.firstParty, context, true);
      } catch (err) {
        this.#report(err);
      }
    }
  }

  // ── the API ────────────────────────────────────────────────────────────────────────────

  /** Cookies that would be sent to `url`, in Cookie-header order. */
  async getCookies(url: URL | string, options: GetCookiesOptions = {}): Promise<JarCookie[]> {
    const cookies = await this.#lookup(url, options);
    return cookies.map((c) => JarCookie.fromTough(c));
  }

  /** The Cookie header value for `url` (libsoup's get_cookies), or null when there is none. */
  async getCookieHeader(url: URL | string, options: GetCookiesOptions = {}): Promise<string | null> {
    const list = await this.#lookup(url, options);
    if (list.length === 0) return null;
    // The same `name=value` (or bare value) form as JarCookie.toCookieHeader, without the copies.
    let header = "";
    for (const c of list) header += (header === "" ? "" : "; ") + (c.key === "" ? c.value : `${c.key}=${c.value}`);
    return header;
  }

  /**
   * Stores a cookie exactly as if `header` came in a Set-Cookie response from `url`
   * (libsoup's set_cookie / set_cookie_with_first_party). Returns the stored cookie, or
   * null when it was refused (policy, RFC 6265 rules, limits).
   */
  async setCookie(url: URL | string, header: string, options: SetCookieOptions = {}): Promise<JarCookie | null> {
    if (typeof header !== "string") throw new InvalidArgumentError("setCookie: `header` must be a string");
    if (this.#policy === CookieJarAcceptPolicy.NEVER) return null;
    const first = options.firstParty == null ? null : toUrl(options.firstParty);
    const stored = await this.#store(header, toUrl(url), first, undefined, options.forHttp ?? true);
    return stored === undefined ? null : JarCookie.fromTough(stored);
  }

  /** Adds a cookie object directly (libsoup's add_cookie); no accept policy applies. */
  async addCookie(init: CookieInit | JarCookie): Promise<void> {
    const c = init instanceof JarCookie ? init : new JarCookie(init);
    if (c.domain === "" || c.name.length + c.value.length > SET_COOKIE_LIMITS.maxNameValueLength) {
      throw new InvalidArgumentError("addCookie: the cookie needs a domain and name+value within 4096 characters");
    }
    const tc = c.toTough();
    const now = new Date();
    tc.creation ??= now;
    tc.lastAccessed = now;
    await this.store.putCookie(tc);
  }

  /** Every cookie in the jar, expired ones excluded (libsoup's all_cookies). */
  async allCookies(): Promise<JarCookie[]> {
    const now = Date.now();
    const all: Cookie[] = await this.store.getAllCookies();
    return all.filter((c) => !isExpired(c, now)).map((c) => JarCookie.fromTough(c));
  }

  /** Deletes the cookie with the same name, domain and path (libsoup's delete_cookie). */
  async deleteCookie(cookie: Pick<JarCookie, "name" | "domain" | "path">): Promise<void> {
    await this.store.removeCookie(canonicalHost(cookie.domain.replace(/^\./, "")), cookie.path, cookie.name);
  }

  /** Deletes every cookie (each deletion emits `changed`). */
  async clear(): Promise<void> {
    await this.store.removeAllCookies();
  }

  /** Number of stored cookies. */
  async count(): Promise<number> {
    return this.store.count();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Persistent jars flush and release their file here; the memory jar just stops. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  override toString(): string {
    return `${this.constructor.name} { acceptPolicy=${policyName(this.#policy)} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** Persistent subclasses write through here; called for every add/replace/delete. */
  protected onStoreChange(_oldCookie: Cookie | null, _newCookie: Cookie | null): void {}

  // ── internals ──────────────────────────────────────────────────────────────────────────

  #lookup(url: URL | string, options: GetCookiesOptions): Cookie[] | Promise<Cookie[]> {
    const u = toUrl(url);
    const site = options.siteForCookies == null ? null : toUrl(options.siteForCookies);
    const opts = {
      http: options.forHttp ?? true,
      sameSiteContext: sameSiteContext(u, site, options.isTopLevelNavigation ?? false, options.method ?? "GET"),
      sort: true,
    };
    return this.#sync ? this.#tough.getCookiesSync(u, opts) : this.#tough.getCookies(u, opts);
  }

  /** Parses and checks one Set-Cookie value; undefined when it is refused before storing. */
  #parse(header: string): Cookie | undefined {
    if (header.length > SET_COOKIE_LIMITS.maxHeaderLength) return undefined;
    const parsed = Cookie.parse(header, { loose: false });
    if (!parsed) return undefined;
    if (parsed.key.length + parsed.value.length > SET_COOKIE_LIMITS.maxNameValueLength) return undefined;
    return parsed;
  }

  /** #store for a synchronous store. */
  #storeSync(header: string, url: URL, firstParty: URL | null, context: SameSiteContext, http: boolean): Cookie | undefined {
    // An identical resend (same header, same URL and SameSite context, so the same tough-cookie
    // verdict) of the cookie it stored, still stored and unchanged, would only replace it with
    // an equal copy and a new access time, without a `changed` event: do just that, without
    // parsing it again. Only when the accept policy cannot refuse it and the jar owns its store.
    let resendKey: string | undefined;
    if (http && header.length <= RESENT_MAX_HEADER && this.#ownStore && (this.#policy === CookieJarAcceptPolicy.ALWAYS || firstParty === null)) {
      resendKey = `${context ?? ""} ${url.protocol}//${url.host}${url.pathname}\n${header}`;
      const prior = this.#resent.get(resendKey);
      if (prior !== undefined && this.store.refreshSync(prior)) return prior;
    }
    const parsed = this.#parse(header);
    if (!parsed) return undefined;
    const refused = this.#thirdPartyVerdict(parsed, url, firstParty);
    if (refused === true || (refused !== false && !this.store.hasCookiesForSiteSync(refused))) return undefined;
    const stored = this.#tough.setCookieSync(parsed, url, { http, sameSiteContext: context, ignoreError: true });
    if (resendKey !== undefined && stored !== undefined && this.store.holdsSync(stored)) {
      if (this.#resent.size >= RESENT_MAX) this.#resent.clear();
      this.#resent.set(resendKey, stored);
    }
    return stored;
  }

  async #store(header: string, url: URL, firstParty: URL | null, context: SameSiteContext, http: boolean): Promise<Cookie | undefined> {
    if (this.#sync) return this.#storeSync(header, url, firstParty, context, http);
    const parsed = this.#parse(header);
    if (!parsed) return undefined;
    const refused = this.#thirdPartyVerdict(parsed, url, firstParty);
    if (refused === true || (refused !== false && !(await this.store.hasCookiesForSite(refused)))) return undefined;
    return this.#tough.setCookie(parsed, url, { http, sameSiteContext: context, ignoreError: true });
  }

  /**
   * libsoup's incoming_cookie_is_third_party. No first party known = not third party.
   * true = refused, false = accepted, a string = GRANDFATHERED_THIRD_PARTY: accepted only if
   * that site (registrable domain) already has cookies in the jar.
   */
  #thirdPartyVerdict(cookie: Cookie, url: URL, firstParty: URL | null): boolean | string {
    const policy = this.#policy;
    if (policy === CookieJarAcceptPolicy.ALWAYS || firstParty === null) return false;
    const cookieSite = registrableDomain(cookie.domain ? cookie.domain.replace(/^\./, "") : url.hostname);
    if (cookieSite === registrableDomain(firstParty.hostname)) return false;
    if (policy === CookieJarAcceptPolicy.NO_THIRD_PARTY) return true;
    return cookieSite;
  }

  #changed(oldCookie: Cookie | null, newCookie: Cookie | null): void {
    this.onStoreChange(oldCookie, newCookie);
    if (this.listenerCount("changed") === 0) return;
    this.emit("changed", oldCookie && JarCookie.fromTough(oldCookie), newCookie && JarCookie.fromTough(newCookie));
  }

  /** @internal for persistent subclasses whose background writes fail. */
  protected emitStoreError(err: unknown): void {
    this.#report(err);
  }

  /** Store failures never fail the request; they go to `error` listeners or a warning. */
  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount("error") > 0) this.emit("error", error);
    else process.emitWarning(`sessionkit CookieJar: cookie store failed: ${error.message}`, "SessionKitWarning");
  }
}

/**
 * The tough-cookie sameSiteContext for a request, as libsoup decides SameSite: no site for
 * cookies = not enforced; same site = strict; a cross-site top-level navigation with a safe
 * method = lax; anything else cross-site = none.
 */
export function sameSiteContext(url: URL, site: URL | null, topLevel: boolean, method: string): SameSiteContext {
  if (site === null) return undefined;
  if (isSameSite(url, site)) return "strict";
  if (topLevel && SAFE_METHODS.has(method.toUpperCase())) return "lax";
  return "none";
}

/** Appends the cookies' `name=value` pairs to a Cookie header value. */
function appendPairs(header: string | null, cookies: readonly Cookie[]): string | null {
  for (const c of cookies) {
    const pair = c.cookieString();
    // A cookie added through the API or a hand-edited file may hold characters a header
    // cannot carry; leave that one out rather than fail the whole request.
    if (SENDABLE.test(pair)) header = header === null ? pair : `${header}; ${pair}`;
  }
  return header;
}

function toUrl(u: URL | string): URL {
  if (u instanceof URL) return u;
  try {
    return new URL(u);
  } catch {
    throw new InvalidArgumentError(`Invalid URL: ${JSON.stringify(String(u).slice(0, 200))}`);
  }
}

function isExpired(c: Cookie, now: number): boolean {
  const t = c.expiryTime();
  return t !== undefined && t <= now;
}

function policyName(p: CookieJarAcceptPolicyValue): string {
  return Object.entries(CookieJarAcceptPolicy).find(([, v]) => v === p)?.[0] ?? String(p);
}

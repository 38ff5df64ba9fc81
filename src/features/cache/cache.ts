/**
 * Cache (libsoup's SoupCache with SOUP_CACHE_SINGLE_USER): an RFC 9111 private cache as a
 * session feature. The rules live in policy.ts; this file is the plumbing through the hooks.
 *
 *   beforeSend   fresh hit → SyntheticResponse (no connection; msg.fromCache = true, Age set)
 *                stale with a validator → add If-None-Match / If-Modified-Since
 *   gotHeaders   304 to our revalidation → status and headers of the stored response, updated
 *                with the 304's headers (§3.2), and the entry freshened;
 *                unsafe method with 2xx/3xx → invalidate the URL, Location, Content-Location
 *   wrapBody     after a 304 → the stored body instead of the empty one;
 *                storable response → a tee that keeps up to maxEntrySize bytes and stores the
 *                entry when the body ends (a bigger body passes through whole, unstored)
 *
 * Bodies are stored as received (still Content-Encoded): the cache runs before ContentDecoder,
 * which decodes stored and network bodies alike.
 *
 * Vary is matched on the request headers as they are when the cache looks (after the caller
 * and lower-order features, before cookies/auth/decoder add theirs). A response that varies on
 * a header a later feature changed is not stored (its variant could not be looked up again),
 * except Accept-Encoding: the decoder's value is the same on every request and stored bodies
 * are decoded either way.
 */
import { Readable, pipeline } from "node:stream";
import { FeatureOrder, type SessionFeature, type SyntheticResponse } from "../../http/feature.js";
import { MessageHeaders } from "../../http/headers.js";
import type { Message } from "../../http/message.js";
import { parseCacheControl } from "./cache-control.js";
import { MemoryCacheStorage } from "./memory-storage.js";
import {
  headersToStore,
  normalizeFieldValue,
  notStorableReason,
  selectVaryHeaders,
  serveDecision,
  storedHeaders,
  updateHeadersFrom304,
  varyMatches,
  varyNames,
  type PolicyOptions,
} from "./policy.js";
import { CacheMissError, requestCacheModeOf } from "./request-mode.js";
import { StoringTee } from "./storing-tee.js";
import { assertCacheStorage, checkMaxSize, DEFAULT_MAX_SIZE, type CacheStorage, type StoredResponse } from "./storage.js";

export interface CacheOptions {
  /** Where responses are kept. @default new MemoryCacheStorage({ maxSize }) */
  storage?: CacheStorage;
  /** Size limit of the default memory storage, bytes. @default 50 MiB */
  maxSize?: number;
  /** Largest body stored, bytes. @default a tenth of the storage's maxSize (libsoup's rule) */
  maxEntrySize?: number;
  /** @default 0.1 (RFC 9111 §4.2.2's suggestion) */
  heuristicFraction?: number;
  /** Cap on heuristic freshness, seconds. @default 86400 */
  heuristicMaxAge?: number;
  /** Clock in ms since the epoch (for tests). @default Date.now */
  now?: () => number;
}

/** What the cache did with a message (`cache.statusOf(msg)`). */
export type CacheStatus =
  | "hit" // answered from storage, no network
  | "revalidated" // a conditional request got 304; the stored body was served
  | "stored" // fetched from the network and being stored
  | "miss" // fetched from the network, not stored (see notStorableReason)
  | "bypass"; // not looked up: unsafe method, no-store request, or the caller's own conditional request

interface HopState {
  status: CacheStatus;
  /** Request headers at lookup time: Vary is keyed on these. */
  lookupHeaders: MessageHeaders | null;
  revalidating: StoredResponse | null;
  added: string[];
  served: boolean;
  serveStored: StoredResponse | null;
  requestTime: number;
  responseTime: number;
  /**
   * Stored Set-Cookie lines of the response being served, put back on msg.responseHeaders in
   * wrapBody: until then (gotHeaders) the cookie feature sees only the Set-Cookie lines that
   * came over the network with this response, so the jar applies each cookie once.
   */
  deferredSetCookie: string[];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const CONDITIONAL = ["If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"];

/** The primary cache key: method and URL without its fragment. */
export function cacheKey(method: string, url: URL): string {
  const href = url.hash === "" ? url.href : url.href.slice(0, url.href.length - url.hash.length);
  return `${method} ${href}`;
}

function warn(what: string, err: unknown): void {
  const code = (err as { code?: string })?.code;
  process.emitWarning(`sessionkit Cache: ${what} failed${code ? ` (${code})` : ""}; the request continues without the cache`);
}

export class Cache implements SessionFeature {
  readonly order = FeatureOrder.CACHE;
  readonly storage: CacheStorage;
  #maxEntrySize: number | null;
  readonly #policy: PolicyOptions;
  readonly #now: () => number;
  readonly #states = new WeakMap<Message, HopState>();
  /** Messages restarted because a 304 did not match what we hold: their next send skips the lookup. */
  readonly #skipLookup = new WeakSet<Message>();

  constructor(options: CacheOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("Cache options must be an object");
    if (options.storage !== undefined) {
      assertCacheStorage(options.storage);
      this.storage = options.storage;
    } else {
      this.storage = new MemoryCacheStorage({ maxSize: options.maxSize ?? DEFAULT_MAX_SIZE });
    }
    this.#maxEntrySize = options.maxEntrySize === undefined ? null : checkMaxSize("maxEntrySize", options.maxEntrySize);
    const fraction = options.heuristicFraction ?? 0.1;
    if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) throw new TypeError("heuristicFraction must be between 0 and 1");
    this.#policy = { heuristicFraction: fraction, heuristicMaxAge: checkMaxSize("heuristicMaxAge", options.heuristicMaxAge ?? 86_400) };
    if (options.now !== undefined && typeof options.now !== "function") throw new TypeError("now must be a function");
    this.#now = options.now ?? Date.now;
  }

  /** Total size limit in bytes (the storage's). */
  get maxSize(): number {
    return this.storage.maxSize;
  }
  set maxSize(v: number) {
    this.storage.maxSize = checkMaxSize("maxSize", v);
  }
  /** Largest response body stored, bytes. */
  get maxEntrySize(): number {
    return this.#maxEntrySize ?? Math.floor(this.storage.maxSize / 10);
  }
  set maxEntrySize(v: number) {
    this.#maxEntrySize = checkMaxSize("maxEntrySize", v);
  }
  /** Bytes stored now. */
  get size(): number {
    return this.storage.size;
  }

  /** What the cache did with `msg` on its last send attempt, or null if it never saw it. */
  statusOf(msg: Message): CacheStatus | null {
    return this.#states.get(msg)?.status ?? null;
  }

  /** Removes every stored variant of GET `url`. */
  async invalidate(url: string | URL): Promise<void> {
    await this.storage.delete(cacheKey("GET", typeof url === "string" ? new URL(url) : url));
  }

  async clear(): Promise<void> {
    await this.storage.clear();
  }

  async flush(): Promise<void> {
    await this.storage.flush();
  }

  /** Closes the storage (for SQLite, the database file). */
  async close(): Promise<void> {
    await this.storage.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `Cache { size: ${this.size}, maxSize: ${this.maxSize}, maxEntrySize: ${this.maxEntrySize} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ── hooks ────────────────────────────────────────────────────────────────────────────

  async beforeSend(msg: Message): Promise<void | SyntheticResponse> {
    const state: HopState = {
      status: "bypass",
      lookupHeaders: null,
      revalidating: null,
      added: [],
      served: false,
      serveStored: null,
      requestTime: this.#now(),
      responseTime: 0,
      deferredSetCookie: [],
    };
    this.#states.set(msg, state);
    const req = msg.requestHeaders;
    const mode = requestCacheModeOf(msg);
    const anyStale = mode === "force-cache" || mode === "only-if-cached";
    // Upgrades (WebSocket) are connections, not documents.
    if (msg.method !== "GET" || req.has("Upgrade")) {
      if (mode === "only-if-cached") throw new CacheMissError(`Cache mode "only-if-cached": ${msg.method} responses are never stored`);
      return;
    }
    const reqCc = parseCacheControl(req.get("Cache-Control"));
    if (mode === "no-store" || (reqCc.noStore && !anyStale)) return;
    state.lookupHeaders = new MessageHeaders(req);
    state.status = "miss";
    // The caller is validating its own copy: pass its conditional request through untouched.
    if (!anyStale && CONDITIONAL.some((h) => req.has(h))) return;
    if (mode === "reload") return;
    if (this.#skipLookup.delete(msg)) return;

    let entry: StoredResponse | undefined;
    try {
      const variants = await this.storage.get(cacheKey("GET", msg.url));
      entry = variants.find((e) => varyMatches(e, req));
    } catch (err) {
      warn("lookup", err);
    }
    if (entry === undefined) {
      if (mode === "only-if-cached") throw new CacheMissError();
      return reqCc.onlyIfCached ? gatewayTimeout() : undefined;
    }

    const d = serveDecision(entry, reqCc, req, this.#now(), this.#policy);
    // no-cache mode: the caller asked for a revalidation, whatever the response's freshness
    // (RFC 8246: immutable only spares revalidations nobody asked for).
    if (mode === "no-cache") d.fresh = false;
    if (d.fresh || anyStale) {
      d.headers.set("Age", String(Math.floor(d.age)));
      state.deferredSetCookie = takeSetCookie(d.headers);
      state.status = "hit";
      state.served = true;
      msg.fromCache = true;
      // A copy: the caller may write into the bytes it reads, and they must not reach storage.
      return { status: entry.status, reasonPhrase: entry.reasonPhrase, headers: d.headers, body: Uint8Array.prototype.slice.call(entry.body) };
    }
    if (reqCc.onlyIfCached) return gatewayTimeout();
    if (!d.canRevalidate) return;
    const etag = d.headers.get("ETag");
    const lastModified = d.headers.getOne("Last-Modified");
    try {
      if (etag !== null) {
        req.set("If-None-Match", etag);
        state.added.push("If-None-Match");
      }
      if (lastModified !== null) {
        req.set("If-Modified-Since", lastModified);
        state.added.push("If-Modified-Since");
      }
    } catch {
      // A stored validator that is not a valid header value: fetch unconditionally.
      this.#removeAdded(msg, state);
      return;
    }
    state.revalidating = entry;
  }

  async gotHeaders(msg: Message): Promise<void | "restart"> {
    const state = this.#states.get(msg);
    if (state?.served) return;
    if (!SAFE_METHODS.has(msg.method) && msg.status >= 200 && msg.status < 400) await this.#invalidateFor(msg);
    if (state === undefined) return;
    state.responseTime = this.#now();
    this.#removeAdded(msg, state);
    const entry = state.revalidating;
    state.revalidating = null;
    if (entry === null || msg.status !== 304) return;
    if (!validatorsMatch(storedHeaders(entry), msg.responseHeaders)) {
      // §4.3.4: a 304 for some other representation cannot freshen ours. Drop ours and ask
      // again without validators, so the caller gets a full response and not a bare 304.
      try {
        await this.storage.delete(entry.key);
      } catch (err) {
        warn("update", err);
      }
      this.#skipLookup.add(msg);
      return "restart";
    }

    const merged = updateHeadersFrom304(storedHeaders(entry), msg.responseHeaders);
    const fresher: StoredResponse = { ...entry, headers: headersToStore(merged), requestTime: state.requestTime, responseTime: state.responseTime };
    try {
      if (notStorableReason("GET", msg.requestHeaders, entry.status, merged) === null) await this.storage.put(fresher);
      else await this.storage.delete(entry.key);
    } catch (err) {
      warn("update", err);
    }
    msg.status = entry.status;
    msg.reasonPhrase = entry.reasonPhrase;
    // The 304's own Set-Cookie lines (if any) replaced the stored ones in `merged` and are
    // new to the jar; otherwise the stored ones wait for wrapBody (see deferredSetCookie).
    const served = new MessageHeaders(merged);
    state.deferredSetCookie = msg.responseHeaders.has("Set-Cookie") ? [] : takeSetCookie(served);
    msg.responseHeaders = served;
    msg.fromCache = true;
    state.serveStored = fresher;
    state.status = "revalidated";
  }

  wrapBody(msg: Message, body: Readable): Readable {
    const state = this.#states.get(msg);
    if (state === undefined || state.status === "bypass") return body;
    for (const v of state.deferredSetCookie) msg.responseHeaders.append("Set-Cookie", v);
    state.deferredSetCookie = [];
    if (state.served) return body;
    if (state.serveStored !== null) {
      // The network body is the 304's (empty): drain it so the connection goes back to the pool.
      body.on("error", () => undefined);
      body.resume();
      return Readable.from([Buffer.from(state.serveStored.body)]);
    }
    const lookup = state.lookupHeaders;
    if (lookup === null || notStorableReason(msg.method, msg.requestHeaders, msg.status, msg.responseHeaders) !== null) return body;
    const names = varyNames(msg.responseHeaders);
    if (names === "*") return body;
    for (const n of names) {
      if (n !== "accept-encoding" && normalizeFieldValue(lookup.get(n)) !== normalizeFieldValue(msg.requestHeaders.get(n))) return body;
    }
    const { varyHeaders, variant } = selectVaryHeaders(names, lookup);
    const template: Omit<StoredResponse, "body"> = {
      key: cacheKey("GET", msg.url),
      variant,
      varyHeaders,
      status: msg.status,
      reasonPhrase: msg.reasonPhrase,
      headers: headersToStore(msg.responseHeaders),
      requestTime: state.requestTime,
      responseTime: state.responseTime || this.#now(),
    };
    state.status = "stored";
    const tee = new StoringTee(this.maxEntrySize, (bytes) => {
      if (bytes === null) {
        state.status = "miss";
        return;
      }
      Promise.resolve()
        .then(() => this.storage.put({ ...template, body: bytes }))
        .catch((err) => warn("store", err));
    });
    return pipeline(body, tee, () => undefined);
  }

  restarted(msg: Message): void {
    const state = this.#states.get(msg);
    if (state) this.#removeAdded(msg, state);
  }

  failed(msg: Message): void {
    const state = this.#states.get(msg);
    if (state) this.#removeAdded(msg, state);
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────

  /** Takes our validators off the caller's message once they have been sent. */
  #removeAdded(msg: Message, state: HopState): void {
    for (const h of state.added) msg.requestHeaders.delete(h);
    state.added = [];
  }

  /** §4.4: an unsafe request that succeeded invalidates the target and same-origin Location/Content-Location. */
  async #invalidateFor(msg: Message): Promise<void> {
    const urls = [msg.url];
    for (const name of ["Location", "Content-Location"]) {
      const v = msg.responseHeaders.getOne(name);
      if (v === null) continue;
      try {
        const u = new URL(v, msg.url);
        if (u.origin === msg.url.origin) urls.push(u);
      } catch {
        // not a URL: nothing to invalidate
      }
    }
    for (const u of urls) {
      try {
        await this.storage.delete(cacheKey("GET", u));
      } catch (err) {
        warn("invalidation", err);
      }
    }
  }
}

/** A 304's strong ETag (when it has one) must be the stored one. */
function validatorsMatch(stored: MessageHeaders, notModified: MessageHeaders): boolean {
  const etag = notModified.get("ETag");
  if (etag === null || etag.startsWith("W/")) return true;
  const ours = stored.get("ETag");
  return ours === null || ours === etag;
}

/** Removes and returns the Set-Cookie lines of `h`. */
function takeSetCookie(h: MessageHeaders): string[] {
  const lines = h.getAll("Set-Cookie");
  if (lines.length > 0) h.delete("Set-Cookie");
  return lines;
}

function gatewayTimeout(): SyntheticResponse {
  // RFC 9111 §5.2.1.7: only-if-cached with nothing usable stored.
  return { status: 504, reasonPhrase: "Gateway Timeout", headers: new MessageHeaders({ "Content-Length": "0" }), body: new Uint8Array(0) };
}

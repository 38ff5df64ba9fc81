/**
 * The framework-free core: load a session for a request, commit it when the response is
 * ready, and say which headers the response needs. Adapters only translate.
 *
 * Write policy (why each branch exists):
 * - a new session is stored only when written to (or touched / saveUninitialized), so
 *   made-up cookies and crawlers cost no store writes;
 * - an existing session sends only the keys whose JSON changed (a patch), so concurrent
 *   requests changing different keys both survive;
 * - an unchanged session costs no write unless its expiry is due for renewal
 *   (`touchAfter`), and then only a TTL touch; the expiry (store and cookie) moves only
 *   when due, so frequent writes do not re-send the cookie on every response;
 * - `update`/`touch` never create, so a session destroyed by one request is never
 *   brought back by a slower one; that slower request's writes are discarded and its
 *   response clears the cookie.
 */
import { InvalidArgumentError } from "../errors.js";
import type { SessionEndReason, SessionPatch, StoredSession } from "../stores/contract.js";
import { MemoryStore, type MemorySyncAccess } from "../stores/memory.js";
import { CookieSerializer, CookieSigner, cookieIsSecure, generateId, readCookieValues, type VerifiedCookie } from "./cookie.js";
import { SessionEndedHub } from "./ended.js";
import { InvalidSessionValueError, StoreContractError } from "./errors.js";
import { emptyRecord, parseStoredJson, type JsonValue } from "./json.js";
import type { ResolvedOptions } from "./options.js";
import type { SessionLifecycle, SessionState } from "./session.js";
import { Lifetimes } from "./lifetime.js";
import { isStoredSession, requestSession, storeError, type RequestInfo, type RequestSession, type ResponseHeaders } from "./request-session.js";
import { decodeValue, encodeValue } from "./values.js";

export type { RequestInfo, RequestSession, ResponseHeaders } from "./request-session.js";
export { isStoredSession } from "./request-session.js";

/** The common header decisions, shared (never mutated) so most requests allocate none. */
const NO_HEADERS: ResponseHeaders = Object.freeze({ setCookie: undefined, vary: false, noStore: false });
const VARY_ONLY: ResponseHeaders = Object.freeze({ setCookie: undefined, vary: true, noStore: false });
/** The snapshot of a session not stored yet (typed read-only, so never changed). */
const NO_VALUES: ReadonlyMap<string, string> = new Map();

export class SessionEngine implements SessionLifecycle {
  readonly options: ResolvedOptions;
  /** @internal shared with outside.ts */
  readonly signer: CookieSigner;
  readonly lifetimes: Lifetimes;
  readonly #serializer: CookieSerializer;
  /** The cookie is Secure whatever the request (`secure: true` or a `__Host-`/`__Secure-` name). */
  readonly #alwaysSecure: boolean;
  readonly #neverSecure: boolean;
  readonly ended: SessionEndedHub;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.ended = new SessionEndedHub(options.store, options.onError);
    this.signer = new CookieSigner(options.secrets);
    this.lifetimes = new Lifetimes(options);
    this.#serializer = new CookieSerializer(options.cookie);
    this.#alwaysSecure = cookieIsSecure(options.cookie, false);
    this.#neverSecure = !cookieIsSecure(options.cookie, true);
  }

  /**
   * Loads the session named by the request's cookie, or starts a new one. Synchronous
   * (no Promise, no microtask) with the default MemoryStore; a Promise with other stores.
   */
  load(request: RequestInfo): RequestSession | Promise<RequestSession> {
    const mem = MemoryStore.syncAccessOf(this.options.store);
    return mem === undefined ? this.#loadAsync(request) : this.#loadSync(request, mem);
  }

  #loadSync(request: RequestInfo, mem: MemorySyncAccess): RequestSession {
    const now = Date.now();
    const state = this.#newState(now);
    const candidates = readCookieValues(request.cookieHeader, this.options.cookie.name);
    for (let i = 0; i < candidates.length; i++) {
      const verified = this.signer.check(candidates[i]);
      if (verified === undefined) continue;
      const id = verified.id;
      let entry;
      try {
        entry = mem.peek(id, now);
        if (entry === undefined) continue;
        if (this.lifetimes.expired(entry.createdAt, entry.expiresAt, now, entry.maxAge)) {
          mem.destroySync(id);
          continue;
        }
        this.#adopt(state, verified, entry);
        // The store keeps each value as JSON.stringify text, which is exactly the snapshot,
        // and does not change this map while this request may still diff against it (see
        // MemoryStore's copy on write), so no copy is needed.
        if (!this.#decodeInto(state, entry.values.entries(), parseStoredJson)) {
          this.#reset(state, now);
          continue;
        }
        state.snapshot = entry.values;
      } catch (error) {
        throw storeError(error);
      }
      break;
    }
    return requestSession(state, request.secure);
  }

  async #loadAsync(request: RequestInfo): Promise<RequestSession> {
    const now = Date.now();
    const state = this.#newState(now);
    const candidates = readCookieValues(request.cookieHeader, this.options.cookie.name);
    for (const value of candidates) {
      const verified = this.signer.check(value);
      if (verified === undefined) continue;
      const id = verified.id;
      const stored = await this.call(() => this.options.store.get(id));
      if (stored === undefined || !isStoredSession(stored)) continue;
      if (this.lifetimes.expired(stored.createdAt, stored.expiresAt, now, stored.maxAge)) {
        await this.call(() => this.options.store.destroy(id));
        continue;
      }
      this.#adopt(state, verified, stored);
      if (!this.#decodeInto(state, Object.entries(stored.data), (v) => v)) {
        this.#reset(state, now);
        continue;
      }
      const snapshot = new Map<string, string>();
      for (const key of Object.keys(stored.data)) snapshot.set(key, JSON.stringify(stored.data[key]));
      state.snapshot = snapshot;
      break;
    }
    return requestSession(state, request.secure);
  }

  /**
   * Fills the session's values from their stored forms. A value that cannot be decoded
   * (corrupt, or an encoding from a newer version) makes the session unreadable, hence
   * absent, as garbage in the store is: reported to `onError`, never a failed request.
   */
  #decodeInto<T>(state: SessionState, stored: Iterable<[string, T]>, parse: (v: T) => JsonValue): boolean {
    try {
      for (const [key, v] of stored) state.values.set(key, decodeValue(parse(v)));
      return true;
    } catch (error) {
      if (!(error instanceof InvalidSessionValueError)) throw error;
      this.options.onError(error);
      return false;
    }
  }

  /** Makes `state` the stored session that `verified` names (its values are filled by the caller). */
  #adopt(
    state: SessionState,
    verified: VerifiedCookie,
    stored: { createdAt: number; expiresAt: number; owner?: string | undefined; maxAge?: number | undefined },
  ): void {
    state.id = verified.id;
    // Saves an HMAC per renewal: the incoming value is what signing would produce.
    if (verified.current) state.signed = verified;
    state.isNew = false;
    state.createdAt = stored.createdAt;
    state.expiresAt = stored.expiresAt;
    state.owner = typeof stored.owner === "string" ? stored.owner : undefined;
    state.maxAge = this.lifetimes.bounded(stored.maxAge);
  }

  /**
   * Writes what changed to the store. Idempotent per request. Returns `undefined` when
   * there is nothing to write, so adapters can finish the response in the same tick
   * (most requests only read).
   */
  commit(rs: RequestSession): Promise<void> | undefined {
    if (rs.committed) return undefined;
    rs.committed = true;
    const s = rs.state;
    const now = Date.now();
    if (s.isNew) {
      const wanted = s.values.size > 0 || s.touched || s.metaChanged || this.options.saveUninitialized;
      // After the headers went out without a cookie, a stored session would be unreachable.
      const cookieStillPossible = rs.headers === undefined || rs.headers.setCookie !== undefined;
      if (!wanted || !cookieStillPossible) return undefined;
      const mem = MemoryStore.syncAccessOf(this.options.store);
      // An owner or own lifetime goes through the store contract (the owner index).
      if (mem === undefined || s.metaChanged) return this.#create(s, now);
      this.#createSync(s, now, mem);
      return undefined;
    }
    // Changed keys as key, JSON text, key, JSON text, ...: each value is stringified once.
    let set: string[] | undefined;
    let del: string[] | undefined;
    let kept = 0;
    for (const [key, value] of s.values) {
      const text = JSON.stringify(encodeValue(key, value));
      const before = s.snapshot.get(key);
      if (before !== undefined) kept++;
      // A literal, not `[]` and push, which would reserve 17 slots for one key.
      if (before === text) continue;
      if (set === undefined) set = [key, text];
      else set.push(key, text);
    }
    // Some stored key is gone from the values only if fewer than all of them were seen.
    if (kept < s.snapshot.size) {
      for (const key of s.snapshot.keys()) if (!s.values.has(key)) (del ??= []).push(key);
    }
    const changed = set !== undefined || del !== undefined || s.metaChanged;
    const due = this.#renewalDue(s, now);
    if (!changed && !due) return undefined;
    const mem = MemoryStore.syncAccessOf(this.options.store);
    if (mem === undefined || s.metaChanged) return this.#save(s, set, del, due, now);
    // The expiry moves only in steps of touchAfter (see #save).
    const expiresAt = due ? this.#expiryFor(s, now) : s.expiresAt;
    let ok: boolean;
    try {
      ok = changed ? mem.updateJson(s.id, set, del, expiresAt, now, s.snapshot) : mem.touchSync(s.id, expiresAt, now, s.snapshot);
    } catch (error) {
      throw storeError(error);
    }
    this.#saved(s, ok, due, expiresAt, now);
    return undefined;
  }

  async #save(s: SessionState, set: string[] | undefined, del: string[] | undefined, due: boolean, now: number): Promise<void> {
    // The expiry moves only in steps of touchAfter, together with the cookie's, so a
    // session written on every request neither re-sends its cookie every time nor lets
    // the cookie fall behind the store.
    const expiresAt = due ? this.#expiryFor(s, now) : s.expiresAt;
    const id = s.id;
    let ok: boolean;
    if (set !== undefined || del !== undefined || s.metaChanged) {
      const patch: SessionPatch = { set: emptyRecord(), delete: del ?? [] };
      if (set !== undefined) {
        const target = patch.set as Record<string, JsonValue>;
        // Plain JSON comes back as the value itself (no copy); other values as their envelope.
        for (let i = 0; i < set.length; i += 2) target[set[i]] = encodeValue(set[i], s.values.get(set[i]));
      }
      if (s.metaChanged) {
        patch.owner = s.owner ?? null;
        patch.maxAge = s.maxAge ?? null;
      }
      ok = await this.call(() => this.options.store.update(id, patch, expiresAt));
    } else {
      ok = await this.call(() => this.options.store.touch(id, expiresAt));
    }
    this.#saved(s, ok, due, expiresAt, now);
  }

  /** After the one commit of a request (the snapshot is not diffed again, so it stays as loaded). */
  #saved(s: SessionState, ok: boolean, due: boolean, expiresAt: number, now: number): void {
    if (!ok) {
      // Destroyed (or expired) by someone else meanwhile: never resurrect it.
      this.#reset(s, now);
      s.clearCookie = true;
      return;
    }
    s.expiresAt = expiresAt;
    s.metaChanged = false;
    if (this.options.rolling && due) s.renewCookie = true;
  }

  /**
   * The headers for the response. Called after `commit`, or (node:http when a handler
   * flushes headers early) before it, in which case it predicts and freezes the cookie.
   */
  responseHeaders(rs: RequestSession): ResponseHeaders {
    if (rs.headers !== undefined) return rs.headers;
    const s = rs.state;
    const now = Date.now();
    let setCookie: string | undefined;
    const secure = this.#alwaysSecure || (!this.#neverSecure && rs.secure);
    const issue = rs.committed
      ? s.idChanged || s.renewCookie
      : s.isNew
        ? s.values.size > 0 || s.touched || s.metaChanged || this.options.saveUninitialized
        : s.idChanged || (this.options.rolling && this.#renewalDue(s, now));
    if (issue) {
      if (s.isNew && !rs.committed) {
        // Predicting before commit: give the session its id now so the cookie names it.
        if (s.id === "") s.id = generateId();
        s.expiresAt = this.#expiryFor(s, now);
      }
      const value = s.signed?.id === s.id ? s.signed.value : this.signer.sign(s.id);
      setCookie = this.#serializer.serialize(value, secure, this.#cookieMaxAge(s, now), now);
    } else if (s.clearCookie) {
      setCookie = this.#serializer.serialize("", secure, 0, now);
    }
    rs.headers = setCookie !== undefined ? { setCookie, vary: s.read, noStore: true } : s.read ? VARY_ONLY : NO_HEADERS;
    return rs.headers;
  }

  // --- SessionLifecycle, called through Session.regenerate()/destroy() ---

  async regenerate(s: SessionState): Promise<void> {
    const oldId = s.isNew ? undefined : s.id;
    const oldOwner = s.owner;
    s.id = "";
    s.isNew = true;
    await this.#create(s, Date.now(), true);
    if (oldId !== undefined) {
      await this.call(() => this.options.store.destroy(oldId));
      this.notifyEnded(oldId, oldOwner, "regenerate");
    }
  }

  async destroy(s: SessionState): Promise<void> {
    const wasStored = !s.isNew;
    const id = s.id;
    const owner = s.owner;
    if (wasStored) await this.call(() => this.options.store.destroy(id));
    this.#reset(s, Date.now());
    s.clearCookie = wasStored;
    if (wasStored) this.notifyEnded(id, owner, "destroy");
  }

  checkOwner(owner: string | undefined): void {
    if (owner === undefined) return;
    if (typeof owner !== "string" || owner.length === 0 || owner.length > 1024) {
      throw new InvalidArgumentError("setOwner(owner) needs a non-empty string of at most 1024 characters (or undefined)");
    }
    if (typeof this.options.store.destroyByOwner !== "function") {
      throw new StoreContractError("setOwner() needs a store with an owner index (destroyByOwner); this store has none");
    }
  }

  checkMaxAge(ms: number | undefined): void {
    this.lifetimes.check(ms);
  }

  // --- internals ---

  async #create(s: SessionState, now: number, restart = false): Promise<void> {
    if (s.id === "") s.id = generateId();
    if (restart) s.createdAt = now;
    const expiresAt = this.#expiryFor(s, now);
    const data = emptyRecord();
    const snapshot = new Map<string, string>();
    for (const [k, v] of s.values) {
      const stored = encodeValue(k, v);
      data[k] = stored;
      snapshot.set(k, JSON.stringify(stored));
    }
    const id = s.id;
    const session: StoredSession = { data, createdAt: s.createdAt, expiresAt };
    if (s.owner !== undefined) session.owner = s.owner;
    if (s.maxAge !== undefined) session.maxAge = s.maxAge;
    const ok = await this.call(() => this.options.store.create(id, session));
    this.#created(s, ok, expiresAt, snapshot);
  }

  #createSync(s: SessionState, now: number, mem: MemorySyncAccess): void {
    if (s.id === "") s.id = generateId();
    const expiresAt = this.#expiryFor(s, now);
    const snapshot = new Map<string, string>();
    for (const [k, v] of s.values) snapshot.set(k, JSON.stringify(encodeValue(k, v)));
    let ok: boolean;
    try {
      // Handed to the store: this request's snapshot is not diffed again after its commit.
      ok = mem.createJson(s.id, snapshot, s.createdAt, expiresAt, now);
    } catch (error) {
      throw storeError(error);
    }
    this.#created(s, ok, expiresAt, snapshot);
  }

  #created(s: SessionState, ok: boolean, expiresAt: number, snapshot: Map<string, string>): void {
    // 256 random bits never collide; a false here means the store is broken.
    if (!ok) throw new StoreContractError("The store refused to create a session under a freshly generated id");
    s.isNew = false;
    s.expiresAt = expiresAt;
    s.idChanged = true;
    s.touched = false;
    s.metaChanged = false;
    s.snapshot = snapshot;
  }

  #renewalDue(s: SessionState, now: number): boolean {
    return s.touched || this.#expiryFor(s, now) - s.expiresAt >= this.options.touchAfter;
  }

  #expiryFor(s: SessionState, now: number): number {
    return this.lifetimes.expiryFor(s.createdAt, s.maxAge, now);
  }

  #cookieMaxAge(s: SessionState, now: number): number | undefined {
    if (!this.options.cookie.persistent) return undefined;
    // Without rolling the cookie is sent once, so it must live until the absolute timeout;
    // the idle timeout is still enforced by the store.
    const until = this.options.rolling ? s.expiresAt : s.createdAt + this.lifetimes.absolute(s.maxAge);
    return Math.max(1000, until - now);
  }

  #newState(now: number): SessionState {
    return {
      id: "",
      createdAt: now,
      expiresAt: 0,
      isNew: true,
      values: new Map(),
      snapshot: NO_VALUES,
      touched: false,
      idChanged: false,
      clearCookie: false,
      renewCookie: false,
      read: false,
      owner: undefined,
      maxAge: undefined,
      metaChanged: false,
      signed: undefined,
      lifecycle: this,
    };
  }

  #reset(s: SessionState, now: number): void {
    s.id = "";
    s.createdAt = now;
    s.expiresAt = 0;
    s.isNew = true;
    s.values.clear();
    s.snapshot = NO_VALUES;
    s.touched = false;
    s.idChanged = false;
    s.renewCookie = false;
    s.owner = undefined;
    s.maxAge = undefined;
    s.metaChanged = false;
  }

  /** @internal Tells `onSessionEnded` listeners (and other nodes) that a session ended. */
  notifyEnded(id: string, owner: string | undefined, reason: SessionEndReason): void {
    this.ended.ended({ id, owner, reason });
  }

  /** Store calls: anything that is not already a typed error becomes STORE_UNAVAILABLE. @internal */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw storeError(error);
    }
  }
}

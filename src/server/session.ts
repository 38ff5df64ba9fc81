/**
 * The session a handler gets from `sessionData(request)`: a Map-like record of values
 * (JSON, plus Date, Map, Set, BigInt, Uint8Array and undefined: see values.ts) plus the
 * lifecycle calls (`regenerate`, `destroy`, `touch`), its owner and its own lifetime.
 *
 * The record does not track writes itself: at commit the middleware compares each value's
 * stored form with what was loaded, so in-place changes (`session.get("cart").push(item)`)
 * are saved too, and only the keys that really changed are sent to the store as a patch.
 */
import { inspect } from "node:util";
import { assertSessionValue, type SessionValue } from "./values.js";

/**
 * The shape of session data. Augment it to type your keys:
 * `declare module "sessionkit/server" { interface SessionDataMap { userId: string } }`.
 */
export interface SessionDataMap {
  [key: string]: SessionValue;
}

/** Lifecycle operations supplied by the middleware core (they need the store and the options). */
export interface SessionLifecycle {
  regenerate(state: SessionState): Promise<void>;
  destroy(state: SessionState): Promise<void>;
  /** Throws when `owner` is not acceptable or the store keeps no owner index. */
  checkOwner(owner: string | undefined): void;
  /** Throws when `ms` is outside the server's `maxAgeBounds`. */
  checkMaxAge(ms: number | undefined): void;
}

/** Per-request mutable state behind a `Session`; only the middleware core touches it. */
export interface SessionState {
  /** Empty until first needed: requests that never store a session never pay for an id. */
  id: string;
  createdAt: number;
  /** Store expiry as last known (0 while the session is not stored). */
  expiresAt: number;
  isNew: boolean;
  values: Map<string, SessionValue>;
  /**
   * JSON of each value as the store held it when loaded (or created); diffed once, at
   * commit. Never changed by the middleware: it may be the MemoryStore's own map, which
   * the store leaves alone until this request's write releases it.
   */
  snapshot: ReadonlyMap<string, string>;
  touched: boolean;
  /** The cookie must (re)name this session: newly stored or regenerated. */
  idChanged: boolean;
  /** The request's cookie names a session that is gone: clear it unless a new one is issued. */
  clearCookie: boolean;
  /** A rolling renewal happened: re-send the cookie with the new expiry. */
  renewCookie: boolean;
  /** `sessionData()` was called (drives `Vary: Cookie`). */
  read: boolean;
  /** Who the session belongs to (`setOwner`), as stored. */
  owner: string | undefined;
  /** The session's own lifetime (`setMaxAge`), as stored; undefined: the server's. */
  maxAge: number | undefined;
  /** `owner` or `maxAge` changed in this request: the commit must write them. */
  metaChanged: boolean;
  /** The request's cookie value when it is already signed by the current secret. */
  signed: { readonly id: string; readonly value: string } | undefined;
  lifecycle: SessionLifecycle;
}

type Key<D> = Extract<keyof D, string>;

export class Session<D extends object = SessionDataMap> {
  /** A private field: invisible to enumeration, spreading, JSON and inspection. */
  readonly #state: SessionState;

  /** @internal Sessions are created by the middleware; use `sessionData(request)`. */
  constructor(state: SessionState) {
    this.#state = state;
  }

  /** The session id. It is a credential: never log it. */
  get id(): string {
    return this.#state.id;
  }

  get createdAt(): Date {
    return new Date(this.#state.createdAt);
  }

  /** True until the session has been stored (in this or an earlier request). */
  get isNew(): boolean {
    return this.#state.isNew;
  }

  get size(): number {
    return this.#state.values.size;
  }

  get<K extends Key<D>>(key: K): D[K] | undefined {
    return this.#state.values.get(key) as D[K] | undefined;
  }

  /** Sets a value; throws `InvalidSessionValueError` when it cannot be stored. */
  set<K extends Key<D>>(key: K, value: D[K]): this {
    if (typeof key !== "string") throw new TypeError("Session keys must be strings");
    assertSessionValue(key, value);
    this.#state.values.set(key, value as SessionValue);
    return this;
  }

  has(key: string): boolean {
    return this.#state.values.has(key);
  }

  delete(key: string): boolean {
    return this.#state.values.delete(key);
  }

  clear(): void {
    this.#state.values.clear();
  }

  keys(): IterableIterator<Key<D>> {
    return this.#state.values.keys() as IterableIterator<Key<D>>;
  }

  values(): IterableIterator<D[Key<D>]> {
    return this.#state.values.values() as IterableIterator<D[Key<D>]>;
  }

  entries(): IterableIterator<[Key<D>, D[Key<D>]]> {
    return this.#state.values.entries() as IterableIterator<[Key<D>, D[Key<D>]]>;
  }

  [Symbol.iterator](): IterableIterator<[Key<D>, D[Key<D>]]> {
    return this.entries();
  }

  /**
   * New id, same data, old id destroyed in the store; the absolute timeout restarts.
   * Call it on login (and on any privilege change) to defeat session fixation.
   */
  regenerate(): Promise<void> {
    return this.#state.lifecycle.regenerate(this.#state);
  }

  /**
   * Logout: deletes the store entry and clears the cookie. The object becomes a new,
   * empty session; anything written to it afterwards starts a fresh session.
   */
  destroy(): Promise<void> {
    return this.#state.lifecycle.destroy(this.#state);
  }

  /** Renews the expiry now (bypassing `touchAfter`) and stores a new session even if empty. */
  touch(): void {
    this.#state.touched = true;
  }

  /** Who this session belongs to (set with `setOwner`), or undefined. */
  get owner(): string | undefined {
    return this.#state.owner;
  }

  /**
   * Names the user this session belongs to (typically at login, next to `regenerate()`),
   * so that `middleware.revokeOwner(userId)` can end every session of that user on every
   * node. `undefined` removes the owner. Needs a store with an owner index (the bundled
   * stores have one); throws `StoreContractError` otherwise, `InvalidArgumentError` for a
   * value that is not a non-empty string of at most 1024 characters.
   */
  setOwner(owner: string | undefined): this {
    this.#state.lifecycle.checkOwner(owner);
    if (owner !== this.#state.owner) {
      this.#state.owner = owner;
      this.#state.metaChanged = true;
    }
    return this;
  }

  /** This session's own lifetime in ms (set with `setMaxAge`), or undefined for the server's. */
  get maxAge(): number | undefined {
    return this.#state.maxAge;
  }

  /**
   * Gives this session its own lifetime ("remember me"): it expires `ms` after its last
   * use, and at the latest `max(ms, absoluteTimeout)` after it was created. `ms` must be
   * within the server's `maxAgeBounds` (`InvalidArgumentError` otherwise); `undefined`
   * goes back to the server's timeouts. The expiry and the cookie are renewed now.
   */
  setMaxAge(ms: number | undefined): this {
    this.#state.lifecycle.checkMaxAge(ms);
    this.#state.maxAge = ms;
    this.#state.metaChanged = true;
    this.#state.touched = true;
    return this;
  }

  /** The data only: the id is a credential and never serialized. */
  toJSON(): Record<string, SessionValue> {
    const out: Record<string, SessionValue> = Object.create(null) as Record<string, SessionValue>;
    for (const [k, v] of this.#state.values) out[k] = v;
    return out;
  }

  [inspect.custom](depth: number, options: object): string {
    const s = this.#state;
    const shown = {
      id: s.id === "" ? "(not assigned)" : `${s.id.slice(0, 4)}…(redacted)`,
      isNew: s.isNew,
      owner: s.owner,
      data: this.toJSON(),
    };
    return `Session ${inspect(shown, { ...options, depth: depth < 0 ? 0 : depth })}`;
  }
}

/**
 * The one contract every session store implements (memory, SQLite, Redis, third-party).
 *
 * Why this shape: the middleware never writes a whole session back. It sends a *patch*
 * (keys set, keys deleted) and the store applies it atomically to whatever is stored now.
 * Two concurrent requests of one client that change different keys therefore both
 * survive (express-session and @fastify/session write the whole object and lose one).
 * `update` and `touch` never create an entry, so a slow request can never bring a
 * destroyed session back.
 *
 * Times are epoch milliseconds from the application's clock. Stores must treat an entry
 * whose `expiresAt` has passed as absent, and should remove it (native TTL or a sweep).
 */
import type { JsonValue, SessionDataRecord } from "../server/json.js";

export type { JsonValue, SessionDataRecord } from "../server/json.js";

/** One stored session. */
export interface StoredSession {
  /** The session values. Keys are arbitrary strings (including `__proto__`). */
  data: SessionDataRecord;
  /** When the session was created (epoch ms); the absolute timeout counts from here. */
  createdAt: number;
  /** When the entry expires (epoch ms); after this, `get` must return `undefined`. */
  expiresAt: number;
  /**
   * Who the session belongs to (`session.setOwner(userId)`), for revocation by owner.
   * Stores with an owner index (`destroyByOwner`) keep and return it; absent when unset.
   */
  owner?: string;
  /** The session's own lifetime in ms (`session.setMaxAge(ms)`); absent when the server's applies. */
  maxAge?: number;
}

/** A change to apply atomically: `set` keys are written, `delete` keys removed. */
export interface SessionPatch {
  set: Readonly<Record<string, JsonValue>>;
  delete: readonly string[];
  /** New owner (`null` removes it; absent leaves it). Stores with an owner index move the entry in it. */
  owner?: string | null;
  /** New per-session lifetime (`null` removes it; absent leaves it). */
  maxAge?: number | null;
}

/** Why a session ended, as told to `onSessionEnded` listeners. */
export type SessionEndReason = "destroy" | "regenerate" | "revoke-owner";

/** A session that ended: its id (a credential: never log it), its owner, and why. */
export interface SessionEndedEvent {
  id: string;
  owner: string | undefined;
  reason: SessionEndReason;
}

export interface SessionStore {
  /** The live entry, or `undefined` when absent, expired or unreadable. */
  get(id: string): Promise<StoredSession | undefined>;
  /**
   * Stores a new entry. Resolves `false` (and changes nothing) when `id` already exists:
   * a store must never overwrite a session on create.
   */
  create(id: string, session: StoredSession): Promise<boolean>;
  /**
   * Applies `patch` to the live entry and sets its `expiresAt`, atomically with respect to
   * every other `update`/`touch`/`destroy` of the same id. Resolves `false` and writes
   * nothing when the entry is absent or expired: never re-creates it.
   */
  update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean>;
  /** Sets `expiresAt` of a live entry. Resolves `false` when absent or expired. */
  touch(id: string, expiresAt: number): Promise<boolean>;
  /** Removes the entry. Resolves even if it did not exist. */
  destroy(id: string): Promise<void>;
  /** Releases connections, files and timers. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;

  // --- Optional: administration. The conformance suite tests each one a store has. ---

  /** Ids of every live session in this store (its prefix, table, ...). */
  list?(): Promise<string[]>;
  /** Number of live sessions. */
  count?(): Promise<number>;
  /** Destroys every session in this store (and its owner index). */
  clear?(): Promise<void>;

  // --- Optional: the owner index (needed by `session.setOwner` and `revokeOwner`). ---

  /** Ids of the live sessions whose `owner` is `owner`. */
  listByOwner?(owner: string): Promise<string[]>;
  /**
   * Destroys every session whose `owner` is `owner` and resolves their ids. A store that
   * has this keeps an owner index: `create` with an `owner`, and `update` with a patch
   * `owner`, put the entry in it; `destroy`, expiry and `clear` take it out.
   */
  destroyByOwner?(owner: string): Promise<string[]>;

  // --- Optional: telling other processes that a session ended (Redis pub/sub). ---

  /** Tells every other store instance subscribed through `subscribeEnded` (on any machine). */
  publishEnded?(event: SessionEndedEvent): Promise<void>;
  /**
   * Calls `listener` for each event published by *other* store instances (this instance's
   * own events are delivered in-process by the middleware). Returns the unsubscribe call.
   */
  subscribeEnded?(listener: (event: SessionEndedEvent) => void): () => void;
}

const REQUIRED = ["get", "create", "update", "touch", "destroy", "close"] as const;
const OPTIONAL = ["list", "count", "clear", "listByOwner", "destroyByOwner", "publishEnded", "subscribeEnded"] as const;

/**
 * Refuses a malformed store at the door (as undici's `assertCacheStore` does) instead of
 * failing deep inside a request. Throws a `TypeError` naming the first missing method.
 */
export function assertSessionStore(store: unknown): asserts store is SessionStore {
  if (typeof store !== "object" || store === null) {
    throw new TypeError(`A session store must be an object, got ${store === null ? "null" : typeof store}`);
  }
  const s = store as Record<string | symbol, unknown>;
  for (const name of REQUIRED) {
    if (typeof s[name] !== "function") {
      throw new TypeError(`The session store is missing the method "${name}()"`);
    }
  }
  for (const name of OPTIONAL) {
    if (s[name] !== undefined && typeof s[name] !== "function") {
      throw new TypeError(`The session store's optional "${name}" must be a method when present`);
    }
  }
  if (typeof s[Symbol.asyncDispose] !== "function") {
    throw new TypeError('The session store is missing the method "[Symbol.asyncDispose]()"');
  }
}

/**
 * The contract a credential session uses to share one saved session with other processes:
 * a lock with a lease (so one process refreshes while the others wait) and the shared
 * current state (the saved session with a version, so a write never overwrites a newer one).
 *
 * Implementations: `MemoryCoordinator` (one process; `sessionkit/login`),
 * `SqliteCoordinator` (processes on one machine; `sessionkit/login/coordinator/sqlite`) and
 * `RedisCoordinator` (many machines; `sessionkit/login/coordinator/redis`). The SQLite and
 * Redis ones are loaded only from their own entry points, so `sessionkit/login` pulls in
 * neither driver. How a session uses the contract is in coordinators/shared-renewal.ts.
 *
 * The contract is deliberately small and dumb (read, compare-and-set, lock, lease, notify):
 * every decision (when to adopt a sibling's tokens, when to refresh, what to tell the
 * application) is made once, in shared-renewal.ts, for every backend.
 */
import { SessionKitError, type SessionKitErrorOptions } from "../errors.js";

/** The saved session as every process sees it. */
export interface SharedSessionState {
  /** Bumped by every write, starting at 1 (0 means "nothing written yet" in `write`). */
  readonly version: number;
  /**
   * The session as a `sessionkit:1:` session string (a secret), or null once the session
   * ended (a refresh was refused, or a process logged out).
   */
  readonly value: string | null;
  /** When it was written (epoch ms, on the writer's clock). */
  readonly updatedAt: number;
}

/** A held lock. Only the holder's `token` can extend or release it. */
export interface CoordinatorLease {
  readonly key: string;
  /** Random, unique per acquisition: a holder whose lease lapsed cannot release a successor's. */
  readonly token: string;
}

/** Waits for news about one key (a write or a release by another process). */
export interface ChangeWatch {
  /**
   * Resolves at the next notification for the key, or after `maxMs` at the latest (a
   * backend without notifications just sleeps: the caller polls). A notification that
   * arrived since the previous `next()` resolves it at once, so none is lost between calls.
   */
  next(maxMs: number): Promise<void>;
  close(): void;
}

export interface CredentialCoordinator {
  /** "memory", "sqlite", "redis", … (for messages). */
  readonly kind: string;
  /** The shared state of `key`, or null when none was ever written. */
  read(key: string): Promise<SharedSessionState | null>;
  /**
   * Compare-and-set: writes `value` when the current version is `expected` (0: nothing
   * written yet) and returns the new state; returns null (writing nothing) when another
   * process wrote first. `expected: null` writes whatever the current version (a new login
   * or a logout, which replace any session). Notifies watchers of `key`.
   */
  write(key: string, expected: number | null, value: string | null): Promise<SharedSessionState | null>;
  /** Takes the lock of `key` for `leaseMs`, or returns null when another holder has it. */
  acquire(key: string, leaseMs: number): Promise<CoordinatorLease | null>;
  /** Extends a held lease to `leaseMs` from now; false when it lapsed (someone else may hold the lock). */
  extend(lease: CoordinatorLease, leaseMs: number): Promise<boolean>;
  /** Releases a held lock (no-op when it lapsed) and notifies watchers. */
  release(lease: CoordinatorLease): Promise<void>;
  /** Starts listening for changes of `key`. */
  watch(key: string): ChangeWatch;
  /** Epoch ms until which the gate `name` of `key` (e.g. "login", "refresh") is closed (0: open). */
  readGate(key: string, name: string): Promise<number>;
  /** Closes the gate `name` of `key` until `until` (never shortens a longer wait). */
  raiseGate(key: string, name: string, until: number): Promise<void>;
  close(): Promise<void>;
}

/** `coordination` option of a credential session: share its saved session with other processes. */
export interface CoordinationOptions {
  /** The backend every process of the fleet uses (MemoryCoordinator, SqliteCoordinator, RedisCoordinator, or your own). */
  coordinator: CredentialCoordinator;
  /**
   * Names the saved session in the coordinator: the same string in every process that
   * shares it (e.g. "bsky:" + the account's DID), a different one per account.
   */
  key: string;
  /** How long the lock is held without being extended (ms); a crashed holder blocks the others at most this long. @default 10_000 */
  leaseMs?: number;
  /** How long a process waits for a sibling's refresh before COORDINATOR_UNAVAILABLE (ms). @default 60_000 */
  maxWaitMs?: number;
}

/** The coordinator's backend failed or did not answer (`COORDINATOR_UNAVAILABLE`). */
export class CoordinatorUnavailableError extends SessionKitError {
  constructor(message: string, options?: SessionKitErrorOptions) {
    super("COORDINATOR_UNAVAILABLE", message, options);
  }
}

const METHODS = ["read", "write", "acquire", "extend", "release", "watch", "readGate", "raiseGate", "close"] as const;

/** Refuses a malformed coordinator at the door (undici's assertCacheStore), not deep inside a refresh. */
export function assertCoordinator(value: unknown, name = "coordinator"): asserts value is CredentialCoordinator {
  if (typeof value !== "object" || value === null) throw new TypeError(`${name} must be a CredentialCoordinator object`);
  for (const m of METHODS) {
    if (typeof (value as Record<string, unknown>)[m] !== "function") throw new TypeError(`${name} must have a ${m}() method`);
  }
}

/** Keys are used in SQL parameters and Redis key names: printable, bounded. */
export function assertCoordinationKey(key: unknown, name = "coordinationKey"): asserts key is string {
  if (typeof key !== "string" || key.length === 0 || key.length > 512 || !/^[\x21-\x7e]+$/.test(key)) {
    throw new TypeError(`${name} must be 1 to 512 printable ASCII characters without spaces`);
  }
}

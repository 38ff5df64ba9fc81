/**
 * `sessionkit/login/coordinator/sqlite`: credential sessions of several processes on one
 * machine share one saved session through a SQLite file (better-sqlite3).
 *
 *   import { SqliteCoordinator } from "sessionkit/login/coordinator/sqlite";
 *   const coordinator = new SqliteCoordinator({ path: "/var/lib/app/credentials.db" });
 *   const bsky = new AtprotoSession({ coordinator, coordinationKey: "bsky:alice" });
 *
 * One row per key holds the shared state (version, session string) and the lock (token,
 * lease end); a second table holds the rate-limit gates. Every operation is one SQL
 * statement (an upsert with a WHERE, or an UPDATE … WHERE version = ?), so SQLite's own
 * write lock makes each one atomic across processes without an explicit transaction.
 *
 * Never blocking the event loop for long: better-sqlite3 is synchronous and a statement
 * that meets another process's write waits up to the busy timeout inside SQLite. That
 * timeout is kept short (20 ms by default); past it the statement is retried
 * asynchronously with a growing pause, for up to `retryForMs`, then fails with
 * COORDINATOR_UNAVAILABLE. The file is in WAL mode, so readers never wait for a writer.
 * Even the setup (WAL, tables) runs that way, on first use rather than in the constructor.
 *
 * SQLite cannot notify another process: a waiting process polls (every `pollMs`), which
 * costs one indexed read per waiting session, not per waiting request (a session's
 * requests wait on its one refresh flight). Watchers in the same process are woken at once.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type Database from "better-sqlite3";
import { InvalidArgumentError } from "../../errors.js";
import type { ChangeWatch, CoordinatorLease, CredentialCoordinator, SharedSessionState } from "../coordinator.js";
import { CoordinatorUnavailableError } from "../coordinator.js";
import { loadDriver } from "./driver.js";
import { eventWatch } from "./event-watch.js";

export interface SqliteCoordinatorOptions {
  /** Database file path (every process of the fleet opens the same file). */
  path?: string;
  /** An open better-sqlite3 database to use (not closed by `close()`). */
  database?: Database.Database;
  /** Table name; the gates go in `<table>_gates`. @default "sessionkit_credentials" */
  table?: string;
  /** The longest one statement blocks the event loop waiting for another process (ms). @default 20 */
  busyTimeoutMs?: number;
  /** How long a busy statement is retried asynchronously before COORDINATOR_UNAVAILABLE (ms). @default 2000 */
  retryForMs?: number;
  /** How often a waiting session looks for a sibling's write or release (ms). @default 20 */
  pollMs?: number;
}

interface StateRow {
  version: number;
  value: string | null;
  updated_at: number;
}

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

function positive(name: string, value: number | undefined, dflt: number): number {
  const v = value ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`SqliteCoordinator option ${name} must be a number >= 0`);
  return v;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Statements {
  read: Stmt<[string], StateRow>;
  writeAny: Stmt<[string, string | null, number], { version: number }>;
  writeFirst: Stmt<[string, string | null, number], { version: number }>;
  writeNext: Stmt<[string | null, number, string, number], { version: number }>;
  acquire: Stmt<[string, string, number, number]>;
  extend: Stmt<[number, string, string, number]>;
  release: Stmt<[string, string]>;
  readGate: Stmt<[string, string], { blocked_until: number }>;
  raiseGate: Stmt<[string, string, number]>;
}

/** Setup may meet the whole fleet starting at once: it gets longer to get through. */
const SETUP_RETRY_MS = 10_000;

export class SqliteCoordinator implements CredentialCoordinator {
  readonly kind = "sqlite";
  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #table: string;
  readonly #wal: boolean;
  readonly #retryForMs: number;
  readonly #pollMs: number;
  readonly #events = new EventEmitter().setMaxListeners(0);
  #statements: Statements | null = null;
  #setup: Promise<Statements> | null = null;
  #closed = false;

  constructor(options: SqliteCoordinatorOptions) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("SqliteCoordinator needs options");
    const table = options.table ?? "sessionkit_credentials";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,56}$/.test(table)) throw new InvalidArgumentError("SqliteCoordinator option table must be a plain SQL identifier");
    if ((options.path === undefined) === (options.database === undefined)) {
      throw new InvalidArgumentError("SqliteCoordinator needs exactly one of path or database");
    }
    const busy = positive("busyTimeoutMs", options.busyTimeoutMs, 20);
    this.#retryForMs = positive("retryForMs", options.retryForMs, 2000);
    this.#pollMs = Math.max(1, positive("pollMs", options.pollMs, 20));
    this.#table = table;
    this.#ownsDb = options.database === undefined;
    this.#wal = this.#ownsDb && options.path !== ":memory:";
    if (options.database !== undefined) this.#db = options.database;
    else {
      const Driver = loadDriver<typeof Database>("better-sqlite3", "SqliteCoordinator");
      this.#db = new Driver(options.path as string, { timeout: Math.round(busy) });
    }
    if (!this.#ownsDb) this.#db.pragma(`busy_timeout = ${Math.round(busy)}`);
  }

  /**
   * Creates the tables and statements on first use, asynchronously: processes that start
   * together collide here (two readers that both want to write get SQLITE_BUSY at once,
   * without SQLite's busy wait), and a constructor could only block on that.
   */
  #ready(): Promise<Statements> {
    if (this.#statements !== null) return Promise.resolve(this.#statements);
    this.#setup ??= this.#run(() => {
      const db = this.#db;
      const t = this.#table;
      if (this.#wal && String(db.pragma("journal_mode", { simple: true })).toLowerCase() !== "wal") db.pragma("journal_mode = WAL");
      // IMMEDIATE takes the write lock first, so a collision waits instead of deadlocking.
      try {
        db.exec(
          `BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS ${t} (key TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 0, value TEXT, ` +
            `updated_at INTEGER NOT NULL DEFAULT 0, lock_token TEXT, lock_until INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID; ` +
            `CREATE TABLE IF NOT EXISTS ${t}_gates (key TEXT NOT NULL, name TEXT NOT NULL, blocked_until INTEGER NOT NULL, ` +
            `PRIMARY KEY (key, name)) WITHOUT ROWID; COMMIT;`,
        );
      } catch (error) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw error;
      }
      // A row may exist for the lock alone (version 0): "nothing written yet" is version 0.
      const insert = `INSERT INTO ${t} (key, version, value, updated_at) VALUES (?, 1, ?, ?) ON CONFLICT (key) DO UPDATE SET `;
      const st: Statements = {
        read: db.prepare(`SELECT version, value, updated_at FROM ${t} WHERE key = ? AND version > 0`),
        writeAny: db.prepare(`${insert} version = version + 1, value = excluded.value, updated_at = excluded.updated_at RETURNING version`),
        writeFirst: db.prepare(`${insert} version = 1, value = excluded.value, updated_at = excluded.updated_at WHERE version = 0 RETURNING version`),
        writeNext: db.prepare(`UPDATE ${t} SET version = version + 1, value = ?, updated_at = ? WHERE key = ? AND version = ? RETURNING version`),
        acquire: db.prepare(
          `INSERT INTO ${t} (key, lock_token, lock_until) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET ` +
            `lock_token = excluded.lock_token, lock_until = excluded.lock_until WHERE lock_until <= ?`,
        ),
        extend: db.prepare(`UPDATE ${t} SET lock_until = ? WHERE key = ? AND lock_token = ? AND lock_until > ?`),
        release: db.prepare(`UPDATE ${t} SET lock_token = NULL, lock_until = 0 WHERE key = ? AND lock_token = ?`),
        readGate: db.prepare(`SELECT blocked_until FROM ${t}_gates WHERE key = ? AND name = ?`),
        raiseGate: db.prepare(
          `INSERT INTO ${t}_gates (key, name, blocked_until) VALUES (?, ?, ?) ON CONFLICT (key, name) DO UPDATE SET ` +
            `blocked_until = max(blocked_until, excluded.blocked_until)`,
        ),
      };
      this.#statements = st;
      return st;
    }, SETUP_RETRY_MS).finally(() => {
      if (this.#statements === null) this.#setup = null; // failed: the next call tries again
    });
    return this.#setup;
  }

  async read(key: string): Promise<SharedSessionState | null> {
    const st = await this.#ready();
    const row = await this.#run(() => st.read.get(key));
    return row === undefined ? null : { version: row.version, value: row.value, updatedAt: row.updated_at };
  }

  async write(key: string, expected: number | null, value: string | null): Promise<SharedSessionState | null> {
    const st = await this.#ready();
    const now = Date.now();
    const row = await this.#run(() =>
      expected === null
        ? st.writeAny.get(key, value, now)
        : expected === 0
          ? st.writeFirst.get(key, value, now)
          : st.writeNext.get(value, now, key, expected),
    );
    if (row === undefined) return null;
    this.#events.emit(key);
    return { version: row.version, value, updatedAt: now };
  }

  async acquire(key: string, leaseMs: number): Promise<CoordinatorLease | null> {
    const st = await this.#ready();
    const token = randomUUID();
    const acquired = await this.#run(() => {
      const now = Date.now();
      return st.acquire.run(key, token, now + leaseMs, now).changes === 1;
    });
    return acquired ? { key, token } : null;
  }

  async extend(lease: CoordinatorLease, leaseMs: number): Promise<boolean> {
    const st = await this.#ready();
    return this.#run(() => {
      const now = Date.now();
      return st.extend.run(now + leaseMs, lease.key, lease.token, now).changes === 1;
    });
  }

  async release(lease: CoordinatorLease): Promise<void> {
    const st = await this.#ready();
    await this.#run(() => st.release.run(lease.key, lease.token));
    this.#events.emit(lease.key);
  }

  watch(key: string): ChangeWatch {
    // Other processes cannot wake us: look again after pollMs at the latest.
    return eventWatch(this.#events, key, this.#pollMs);
  }

  async readGate(key: string, name: string): Promise<number> {
    const st = await this.#ready();
    return (await this.#run(() => st.readGate.get(key, name)))?.blocked_until ?? 0;
  }

  async raiseGate(key: string, name: string, until: number): Promise<void> {
    const st = await this.#ready();
    await this.#run(() => st.raiseGate.run(key, name, Math.round(until)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.removeAllListeners();
    if (this.#ownsDb) this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Runs one statement; SQLITE_BUSY past the short busy timeout is retried after an async pause. */
  async #run<T>(fn: () => T, retryForMs = this.#retryForMs): Promise<T> {
    const deadline = Date.now() + retryForMs;
    let pause = 1;
    for (;;) {
      if (this.#closed) throw new CoordinatorUnavailableError("The SQLite coordinator is closed");
      try {
        return fn();
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const busy = typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
        if (!busy || Date.now() + pause > deadline) {
          throw new CoordinatorUnavailableError(busy ? "The SQLite coordinator stayed busy" : "The SQLite coordinator failed", { cause: error });
        }
        // Jitter keeps processes that collided once from colliding again in lockstep.
        await sleep(pause + Math.random() * pause);
        pause = Math.min(pause * 2, 50);
      }
    }
  }
}

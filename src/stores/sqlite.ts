/**
 * `sessionkit/stores/sqlite`: a durable store on SQLite through better-sqlite3 — the
 * embedded choice for sessions that must survive a restart without running a server.
 *
 * better-sqlite3 is synchronous, which is what makes per-key merging simple and safe here:
 * an update reads, merges and writes inside one `BEGIN IMMEDIATE` transaction, so no other
 * writer (in this process or another one on the same file) can interleave. Each statement
 * is microseconds on a local file, so running it on the event loop is cheaper than a
 * thread hop.
 *
 * A busy file is the exception: while another process holds the write lock, SQLite's own
 * busy handler would sleep *on the event loop* (the old 5 s `busy_timeout` froze every
 * request of the process for 5 s). So the busy timeout is a few milliseconds, and a
 * statement that still finds the file locked is retried from a timer, with backoff, until
 * `lockTimeout`; then it fails with `STORE_UNAVAILABLE`. A locked file costs the waiting
 * request, not the process.
 *
 * better-sqlite3 itself is loaded when a store is constructed (see `driver.ts`), so a
 * missing driver is reported as "npm install better-sqlite3".
 */
import type BetterSqlite3 from "better-sqlite3";
import { InvalidArgumentError } from "../errors.js";
import { StoreUnavailableError } from "../server/errors.js";
import { emptyRecord, type SessionDataRecord } from "../server/json.js";
import type { SessionEndedEvent, SessionPatch, SessionStore, StoredSession } from "./contract.js";
import { loadDriver } from "./driver.js";
import { SqliteEvents } from "./sqlite-events.js";

export interface SqliteStoreOptions {
  /** Database file path, or `":memory:"`. Ignored when `database` is given. */
  path?: string;
  /** An open better-sqlite3 database to use (not closed by `close()`). */
  database?: BetterSqlite3.Database;
  /** Table name. @default "sessionkit_sessions" */
  table?: string;
  /** How often expired rows are deleted, in ms (0 disables the timer). @default 300000 */
  sweepInterval?: number;
  /**
   * How long (ms) one call may wait for another connection's lock before it fails with
   * `STORE_UNAVAILABLE`. The wait is asynchronous: the event loop keeps running. @default 5000
   */
  lockTimeout?: number;
  /**
   * SQLite's own busy timeout per attempt (ms). It blocks the event loop, so keep it to a
   * few milliseconds. It is a setting of the connection: with `database`, the store sets
   * it on that connection too. @default 5
   */
  busyTimeout?: number;
  /**
   * Tell `onSessionEnded` listeners of other processes on this file about ended sessions:
   * each store instance records them in `<table>_ended` and polls it (every
   * `pollInterval` ms, default 250) while someone listens. @default false
   */
  notifications?: boolean | { pollInterval?: number };
}

interface Row {
  data: string;
  created_at: number;
  expires_at: number;
  owner: string | null;
  max_age: number | null;
}

type Db = BetterSqlite3.Database;
type Stmt<P extends unknown[], R = unknown> = BetterSqlite3.Statement<P, R>;

/** SQLite result codes that mean "another connection holds a lock": worth a retry. */
const BUSY = /^SQLITE_(BUSY|LOCKED)/;

export class SqliteStore implements SessionStore {
  readonly #db: Db;
  readonly #ownsDb: boolean;
  readonly #lockTimeout: number;
  readonly #s: {
    get: Stmt<[string, number], Row>;
    touch: Stmt<[number, string, number]>;
    delete: Stmt<[string]>;
    sweep: Stmt<[number]>;
    list: Stmt<[number], { id: string }>;
    count: Stmt<[number], { n: number }>;
    clear: Stmt<[]>;
    byOwner: Stmt<[string, number], { id: string }>;
    ownerOf: Stmt<[string], { owner: string | null }>;
  };
  readonly #createTx: (id: string, s: StoredSession) => boolean;
  readonly #updateTx: (id: string, patch: SessionPatch, expiresAt: number) => boolean;
  readonly #destroyByOwnerTx: (owner: string) => string[];
  readonly #events: SqliteEvents | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions = {}) {
    const table = options.table ?? "sessionkit_sessions";
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
      throw new InvalidArgumentError("SqliteStore option table must be a plain SQL identifier");
    }
    const sweepInterval = options.sweepInterval ?? 300_000;
    if (!Number.isFinite(sweepInterval) || sweepInterval < 0) {
      throw new InvalidArgumentError("SqliteStore option sweepInterval must be a non-negative number");
    }
    this.#lockTimeout = options.lockTimeout ?? 5000;
    if (!Number.isFinite(this.#lockTimeout) || this.#lockTimeout < 0) {
      throw new InvalidArgumentError("SqliteStore option lockTimeout must be a non-negative number of milliseconds");
    }
    const busyTimeout = options.busyTimeout ?? 5;
    if (!Number.isInteger(busyTimeout) || busyTimeout < 0 || busyTimeout > 1000) {
      throw new InvalidArgumentError("SqliteStore option busyTimeout must be an integer from 0 to 1000 (ms)");
    }
    if (options.database === undefined && options.path === undefined) {
      throw new InvalidArgumentError("SqliteStore needs a path (or an open database)");
    }
    this.#ownsDb = options.database === undefined;
    if (options.database !== undefined) {
      this.#db = options.database;
    } else {
      const Database = loadDriver<typeof BetterSqlite3>("better-sqlite3", "SqliteStore");
      this.#db = new Database(options.path as string);
    }
    const db = this.#db;
    try {
      // Setup happens once at startup, where waiting for a lock is acceptable.
      db.pragma("busy_timeout = 5000");
      if (this.#ownsDb && options.path !== ":memory:") db.pragma("journal_mode = WAL");
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, data TEXT NOT NULL, ` +
          `created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, owner TEXT, max_age INTEGER) WITHOUT ROWID;` +
          `CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (expires_at);`,
      );
      // Tables made by earlier versions lack the owner columns: add them, keep every row.
      const columns = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
      if (!columns.has("owner")) db.exec(`ALTER TABLE ${table} ADD COLUMN owner TEXT`);
      if (!columns.has("max_age")) db.exec(`ALTER TABLE ${table} ADD COLUMN max_age INTEGER`);
      db.exec(`CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner) WHERE owner IS NOT NULL`);
      db.pragma(`busy_timeout = ${busyTimeout}`);

      const get = db.prepare<[string, number], Row>(
        `SELECT data, created_at, expires_at, owner, max_age FROM ${table} WHERE id = ? AND expires_at > ?`,
      );
      this.#s = {
        get,
        touch: db.prepare(`UPDATE ${table} SET expires_at = ? WHERE id = ? AND expires_at > ?`),
        delete: db.prepare(`DELETE FROM ${table} WHERE id = ?`),
        sweep: db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?`),
        list: db.prepare(`SELECT id FROM ${table} WHERE expires_at > ?`),
        count: db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE expires_at > ?`),
        clear: db.prepare(`DELETE FROM ${table}`),
        byOwner: db.prepare(`SELECT id FROM ${table} WHERE owner = ? AND expires_at > ?`),
        ownerOf: db.prepare(`SELECT owner FROM ${table} WHERE id = ?`),
      };
      // Stale rows may linger until swept: an insert over an expired row replaces it.
      const purgeExpired = db.prepare<[string, number]>(`DELETE FROM ${table} WHERE id = ? AND expires_at <= ?`);
      const insert = db.prepare<[string, string, number, number, string | null, number | null]>(
        `INSERT INTO ${table} (id, data, created_at, expires_at, owner, max_age) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      );
      const create = db.transaction((id: string, s: StoredSession) => {
        purgeExpired.run(id, Date.now());
        return insert.run(id, JSON.stringify(s.data), s.createdAt, s.expiresAt, s.owner ?? null, s.maxAge ?? null).changes === 1;
      });
      this.#createTx = (id, s) => create.immediate(id, s);
      const setRow = db.prepare<[string, number, string | null, number | null, string]>(
        `UPDATE ${table} SET data = ?, expires_at = ?, owner = ?, max_age = ? WHERE id = ?`,
      );
      const update = db.transaction((id: string, patch: SessionPatch, expiresAt: number) => {
        const row = get.get(id, Date.now());
        if (row === undefined) return false;
        const data = parseData(row.data) ?? emptyRecord();
        for (const key of Object.keys(patch.set)) data[key] = patch.set[key];
        for (const key of patch.delete) delete data[key];
        const owner = patch.owner === undefined ? row.owner : patch.owner;
        const maxAge = patch.maxAge === undefined ? row.max_age : patch.maxAge;
        setRow.run(JSON.stringify(data), expiresAt, owner, maxAge, id);
        return true;
      });
      // IMMEDIATE takes the write lock before reading, so two merges cannot interleave.
      this.#updateTx = (id, patch, expiresAt) => update.immediate(id, patch, expiresAt);
      const byOwner = this.#s.byOwner;
      const deleteOwned = db.prepare<[string]>(`DELETE FROM ${table} WHERE owner = ?`);
      const destroyByOwner = db.transaction((owner: string) => {
        const ids = byOwner.all(owner, Date.now()).map((r) => r.id);
        deleteOwned.run(owner); // expired rows of the owner go too
        return ids;
      });
      this.#destroyByOwnerTx = (owner) => destroyByOwner.immediate(owner);
      const n = options.notifications;
      this.#events =
        n === undefined || n === false
          ? undefined
          : new SqliteEvents(db, `${table}_ended`, typeof n === "object" ? (n.pollInterval ?? 250) : 250, (fn) => this.#run(fn));
    } catch (error) {
      if (this.#ownsDb) db.close();
      throw error;
    }
    if (sweepInterval > 0) {
      this.#timer = setInterval(() => {
        try {
          this.sweep();
        } catch {
          // A failed sweep (busy file) is retried at the next tick; reads ignore expired rows anyway.
        }
      }, sweepInterval);
      this.#timer.unref();
    }
  }

  /** Deletes expired rows now; returns how many. Synchronous: a busy file throws. */
  sweep(now = Date.now()): number {
    return this.#s.sweep.run(now).changes;
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const row = await this.#run(() => this.#s.get.get(id, Date.now()));
    if (row === undefined) return undefined;
    const data = parseData(row.data);
    // Garbage in the row (hand-edited, truncated): the session is unreadable, so absent.
    if (data === undefined || !Number.isFinite(row.created_at) || !Number.isFinite(row.expires_at)) return undefined;
    const out: StoredSession = { data, createdAt: row.created_at, expiresAt: row.expires_at };
    if (typeof row.owner === "string") out.owner = row.owner;
    if (typeof row.max_age === "number" && row.max_age > 0) out.maxAge = row.max_age;
    return out;
  }

  async create(id: string, session: StoredSession): Promise<boolean> {
    return this.#run(() => this.#createTx(id, session));
  }

  async update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean> {
    return this.#run(() => this.#updateTx(id, patch, expiresAt));
  }

  async touch(id: string, expiresAt: number): Promise<boolean> {
    return this.#run(() => this.#s.touch.run(expiresAt, id, Date.now()).changes === 1);
  }

  async destroy(id: string): Promise<void> {
    await this.#run(() => this.#s.delete.run(id));
  }

  /** Ids of every live session. */
  async list(): Promise<string[]> {
    return this.#run(() => this.#s.list.all(Date.now()).map((r) => r.id));
  }

  /** Number of live sessions. */
  async count(): Promise<number> {
    return this.#run(() => this.#s.count.get(Date.now())?.n ?? 0);
  }

  /** Deletes every session in the table. */
  async clear(): Promise<void> {
    await this.#run(() => this.#s.clear.run());
  }

  /** Ids of the live sessions whose owner is `owner` (through the owner index). */
  async listByOwner(owner: string): Promise<string[]> {
    return this.#run(() => this.#s.byOwner.all(owner, Date.now()).map((r) => r.id));
  }

  /** Deletes every session of `owner` in one transaction; resolves the ids of the live ones. */
  async destroyByOwner(owner: string): Promise<string[]> {
    return this.#run(() => this.#destroyByOwnerTx(owner));
  }

  /** Records the event for the other store instances on this file (with `notifications`). */
  async publishEnded(event: SessionEndedEvent): Promise<void> {
    await this.#events?.publish(event);
  }

  /** Hears the events other store instances on this file recorded (with `notifications`). */
  subscribeEnded(listener: (event: SessionEndedEvent) => void): () => void {
    return this.#events?.subscribe(listener) ?? (() => undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#events?.close();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#ownsDb) this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Runs one statement or transaction; while the file is locked by another connection,
   * retries it from a timer (backing off from 2 to 50 ms, with jitter so that waiting
   * processes do not retry in step) until `lockTimeout`, then fails with STORE_UNAVAILABLE.
   * Each attempt is atomic, so a retried transaction never runs twice.
   */
  async #run<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.#lockTimeout;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new StoreUnavailableError("The SQLite session store is closed");
      try {
        return fn();
      } catch (error) {
        const code = String((error as { code?: unknown }).code ?? "");
        if (!BUSY.test(code)) throw new StoreUnavailableError("The SQLite session store failed", { cause: error });
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new StoreUnavailableError(`The SQLite session file stayed locked by another connection for ${this.#lockTimeout} ms`, {
            cause: error,
          });
        }
        const backoff = Math.min(50, 2 * 2 ** Math.min(attempt, 5));
        await new Promise((r) => setTimeout(r, Math.min(left, backoff * (0.5 + Math.random()))));
      }
    }
  }
}

function parseData(text: string): SessionDataRecord | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    const out = emptyRecord();
    for (const key of Object.keys(value)) out[key] = (value as SessionDataRecord)[key];
    return out;
  } catch {
    return undefined;
  }
}

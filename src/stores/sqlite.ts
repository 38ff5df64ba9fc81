/**
 * `sessionkit/stores/sqlite`: a durable store on SQLite through better-sqlite3 — the
 * embedded choice for sessions that must survive a restart without running a server.
 *
 * better-sqlite3 is synchronous, which is what makes per-key merging simple and safe here:
 * an update reads, merges and writes inside one `BEGIN IMMEDIATE` transaction, so no other
 * writer (in this process or another one on the same file) can interleave. Each statement
 * is microseconds on a local file, so blocking the event loop for it is cheaper than a
 * thread hop.
 */
import Database from "better-sqlite3";
import { InvalidArgumentError } from "../errors.js";
import { StoreUnavailableError } from "../server/errors.js";
import { emptyRecord, type SessionDataRecord } from "../server/json.js";
import type { SessionPatch, SessionStore, StoredSession } from "./contract.js";

export interface SqliteStoreOptions {
  /** Database file path, or `":memory:"`. Ignored when `database` is given. */
  path?: string;
  /** An open better-sqlite3 database to use (not closed by `close()`). */
  database?: Database.Database;
  /** Table name. @default "sessionkit_sessions" */
  table?: string;
  /** How often expired rows are deleted, in ms (0 disables the timer). @default 300000 */
  sweepInterval?: number;
}

interface Row {
  data: string;
  created_at: number;
  expires_at: number;
}

export class SqliteStore implements SessionStore {
  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #get: Database.Statement<[string, number], Row>;
  readonly #insert: Database.Statement<[string, string, number, number]>;
  readonly #setData: Database.Statement<[string, number, string]>;
  readonly #touch: Database.Statement<[number, string, number]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #sweep: Database.Statement<[number]>;
  readonly #createTx: Database.Transaction<(id: string, data: string, createdAt: number, expiresAt: number) => boolean>;
  readonly #update: (id: string, patch: SessionPatch, expiresAt: number) => boolean;
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
    if (options.database === undefined && options.path === undefined) {
      throw new InvalidArgumentError("SqliteStore needs a path (or an open database)");
    }
    this.#ownsDb = options.database === undefined;
    this.#db = options.database ?? new Database(options.path as string);
    try {
      if (this.#ownsDb && options.path !== ":memory:") this.#db.pragma("journal_mode = WAL");
      this.#db.pragma("busy_timeout = 5000");
      this.#db.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (id TEXT PRIMARY KEY, data TEXT NOT NULL, ` +
          `created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;` +
          `CREATE INDEX IF NOT EXISTS ${table}_expires ON ${table} (expires_at);`,
      );
      this.#get = this.#db.prepare(`SELECT data, created_at, expires_at FROM ${table} WHERE id = ? AND expires_at > ?`);
      this.#insert = this.#db.prepare(`INSERT INTO ${table} (id, data, created_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`);
      this.#setData = this.#db.prepare(`UPDATE ${table} SET data = ?, expires_at = ? WHERE id = ?`);
      this.#touch = this.#db.prepare(`UPDATE ${table} SET expires_at = ? WHERE id = ? AND expires_at > ?`);
      this.#delete = this.#db.prepare(`DELETE FROM ${table} WHERE id = ?`);
      this.#sweep = this.#db.prepare(`DELETE FROM ${table} WHERE expires_at <= ?`);
      // Stale rows may linger until swept: an insert over an expired row replaces it.
      const purgeExpired = this.#db.prepare(`DELETE FROM ${table} WHERE id = ? AND expires_at <= ?`);
      const insert = this.#insert;
      this.#createTx = this.#db.transaction((id: string, data: string, createdAt: number, expiresAt: number) => {
        purgeExpired.run(id, Date.now());
        return insert.run(id, data, createdAt, expiresAt).changes === 1;
      });
      const get = this.#get;
      const setData = this.#setData;
      const tx = this.#db.transaction((id: string, patch: SessionPatch, expiresAt: number) => {
        const row = get.get(id, Date.now());
        if (row === undefined) return false;
        const data = parseData(row.data) ?? emptyRecord();
        for (const key of Object.keys(patch.set)) data[key] = patch.set[key];
        for (const key of patch.delete) delete data[key];
        setData.run(JSON.stringify(data), expiresAt, id);
        return true;
      });
      // IMMEDIATE takes the write lock before reading, so two merges cannot interleave.
      this.#update = (id, patch, expiresAt) => tx.immediate(id, patch, expiresAt);
    } catch (error) {
      if (this.#ownsDb) this.#db.close();
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

  /** Deletes expired rows now; returns how many. */
  sweep(now = Date.now()): number {
    return this.#sweep.run(now).changes;
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const row = this.#run(() => this.#get.get(id, Date.now()));
    if (row === undefined) return undefined;
    const data = parseData(row.data);
    // Garbage in the row (hand-edited, truncated): the session is unreadable, so absent.
    if (data === undefined || !Number.isFinite(row.created_at) || !Number.isFinite(row.expires_at)) return undefined;
    return { data, createdAt: row.created_at, expiresAt: row.expires_at };
  }

  async create(id: string, session: StoredSession): Promise<boolean> {
    const text = JSON.stringify(session.data);
    return this.#run(() => this.#createTx.immediate(id, text, session.createdAt, session.expiresAt));
  }

  async update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean> {
    return this.#run(() => this.#update(id, patch, expiresAt));
  }

  async touch(id: string, expiresAt: number): Promise<boolean> {
    return this.#run(() => this.#touch.run(expiresAt, id, Date.now()).changes === 1);
  }

  async destroy(id: string): Promise<void> {
    this.#run(() => this.#delete.run(id));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if (this.#ownsDb) this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #run<T>(fn: () => T): T {
    if (this.#closed) throw new StoreUnavailableError("The SQLite session store is closed");
    try {
      return fn();
    } catch (error) {
      throw new StoreUnavailableError("The SQLite session store failed", { cause: error });
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

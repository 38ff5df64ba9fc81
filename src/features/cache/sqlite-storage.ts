/**
 * On-disk CacheStorage in one SQLite file, through better-sqlite3 (undici's SqliteCacheStore
 * needs node:sqlite, which Node 20 does not have). better-sqlite3 is an optional peer
 * dependency loaded with a dynamic import inside `open()`, so `import "sessionkit"` never
 * loads a native module.
 *
 * One row per (key, variant); `last_used` is a counter bumped on every hit, which gives LRU
 * eviction without clock trouble. A hit is a read: the counter updates are kept in memory
 * and written in one transaction a second later, before any eviction, on flush() and on
 * close() (writing each one on the hit path cost five times the read). WAL mode keeps
 * readers and the writer out of each other's way; `flush()` checkpoints the WAL into the
 * main file. The data survives a restart.
 */
import { closeSync, constants, openSync } from "node:fs";
import type BetterSqlite3 from "better-sqlite3";
import { CacheStorageError, checkMaxSize, DEFAULT_MAX_SIZE, entrySize, type CacheStorage, type StoredResponse } from "./storage.js";

export interface SqliteCacheStorageOptions {
  /** @default 50 MiB */
  maxSize?: number;
}

interface Row {
  variant: string;
  meta: string;
  body: Buffer;
}

interface Meta {
  varyHeaders: Record<string, string | null>;
  status: number;
  reasonPhrase: string;
  headers: string[];
  requestTime: number;
  responseTime: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessionkit_cache (
  key TEXT NOT NULL,
  variant TEXT NOT NULL,
  meta TEXT NOT NULL,
  body BLOB NOT NULL,
  size INTEGER NOT NULL,
  last_used INTEGER NOT NULL,
  PRIMARY KEY (key, variant)
);
CREATE INDEX IF NOT EXISTS sessionkit_cache_lru ON sessionkit_cache (last_used);
`;

function isMeta(m: unknown): m is Meta {
  const o = m as Meta;
  return (
    typeof o === "object" &&
    o !== null &&
    typeof o.status === "number" &&
    typeof o.reasonPhrase === "string" &&
    Array.isArray(o.headers) &&
    o.headers.every((h) => typeof h === "string") &&
    o.headers.length % 2 === 0 &&
    typeof o.requestTime === "number" &&
    typeof o.responseTime === "number" &&
    typeof o.varyHeaders === "object" &&
    o.varyHeaders !== null
  );
}

export class SqliteCacheStorage implements CacheStorage {
  readonly #db: BetterSqlite3.Database;
  readonly #stmt: {
    get: BetterSqlite3.Statement<[string], Row>;
    touch: BetterSqlite3.Statement<[number, string]>;
    sizeOf: BetterSqlite3.Statement<[string, string], { size: number }>;
    put: BetterSqlite3.Statement<[string, string, string, Buffer, number, number]>;
    deleteVariant: BetterSqlite3.Statement<[string, string]>;
    deleteKey: BetterSqlite3.Statement<[string]>;
    sizeOfKey: BetterSqlite3.Statement<[string], { size: number | null }>;
    oldest: BetterSqlite3.Statement<[], { key: string; variant: string; size: number }>;
  };
  #size: number;
  #maxSize: number;
  #tick: number;
  #closed = false;
  #pendingTouches = new Map<string, number>();
  #touchTimer: NodeJS.Timeout | null = null;

  private constructor(db: BetterSqlite3.Database, maxSize: number) {
    this.#db = db;
    this.#maxSize = maxSize;
    this.#stmt = {
      get: db.prepare("SELECT variant, meta, body FROM sessionkit_cache WHERE key = ? ORDER BY last_used DESC"),
      touch: db.prepare("UPDATE sessionkit_cache SET last_used = ? WHERE key = ?"),
      sizeOf: db.prepare("SELECT size FROM sessionkit_cache WHERE key = ? AND variant = ?"),
      put: db.prepare("INSERT OR REPLACE INTO sessionkit_cache (key, variant, meta, body, size, last_used) VALUES (?, ?, ?, ?, ?, ?)"),
      deleteVariant: db.prepare("DELETE FROM sessionkit_cache WHERE key = ? AND variant = ?"),
      deleteKey: db.prepare("DELETE FROM sessionkit_cache WHERE key = ?"),
      sizeOfKey: db.prepare("SELECT SUM(size) AS size FROM sessionkit_cache WHERE key = ?"),
      oldest: db.prepare("SELECT key, variant, size FROM sessionkit_cache ORDER BY last_used ASC LIMIT 32"),
    };
    const totals = db.prepare("SELECT COALESCE(SUM(size), 0) AS size, COALESCE(MAX(last_used), 0) AS tick FROM sessionkit_cache").get() as {
      size: number;
      tick: number;
    };
    this.#size = totals.size;
    this.#tick = totals.tick;
    this.#evict();
  }

  /** Opens (or creates) the cache file. Rejects with STORE_UNAVAILABLE when better-sqlite3 or the file cannot be used. */
  static async open(path: string, options: SqliteCacheStorageOptions = {}): Promise<SqliteCacheStorage> {
    if (typeof path !== "string" || path === "") throw new TypeError("SqliteCacheStorage.open: path must be a non-empty string");
    const maxSize = checkMaxSize("maxSize", options.maxSize ?? DEFAULT_MAX_SIZE);
    let Database: typeof BetterSqlite3;
    try {
      Database = (await import("better-sqlite3")).default;
    } catch (err) {
      throw new CacheStorageError(
        "STORE_UNAVAILABLE",
        "SqliteCacheStorage needs the optional dependency better-sqlite3 (npm install better-sqlite3)",
        { cause: err },
      );
    }
    let db: BetterSqlite3.Database | undefined;
    try {
      // Stored responses include Set-Cookie values: a new file is readable by its owner only
      // (an existing file keeps its mode; SQLite gives the -wal/-shm files the same one).
      if (path !== ":memory:" && !path.startsWith("file:")) closeSync(openSync(path, constants.O_CREAT | constants.O_RDWR, 0o600));
      db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.exec(SCHEMA);
      return new SqliteCacheStorage(db, maxSize);
    } catch (err) {
      db?.close();
      throw new CacheStorageError("STORE_UNAVAILABLE", "Could not open the SQLite cache file", { cause: err });
    }
  }

  get maxSize(): number {
    return this.#maxSize;
  }
  set maxSize(v: number) {
    this.#maxSize = checkMaxSize("maxSize", v);
    this.#run(() => this.#evict());
  }
  get size(): number {
    return this.#size;
  }

  get(key: string): StoredResponse[] {
    return this.#run(() => {
      const rows = this.#stmt.get.all(key);
      if (rows.length === 0) return [];
      this.#pendingTouches.set(key, ++this.#tick);
      this.#scheduleTouches();
      const out: StoredResponse[] = [];
      for (const row of rows) {
        let meta: unknown;
        try {
          meta = JSON.parse(row.meta);
        } catch {
          meta = null;
        }
        if (!isMeta(meta)) {
          // A damaged row is dropped rather than served or thrown.
          this.#removeVariant(key, row.variant);
          continue;
        }
        const body = new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength);
        out.push({ key, variant: row.variant, ...meta, body });
      }
      return out;
    });
  }

  put(entry: StoredResponse): void {
    const size = entrySize(entry);
    if (size > this.#maxSize) return;
    const meta: Meta = {
      varyHeaders: entry.varyHeaders,
      status: entry.status,
      reasonPhrase: entry.reasonPhrase,
      headers: entry.headers,
      requestTime: entry.requestTime,
      responseTime: entry.responseTime,
    };
    const body = Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength);
    this.#run(() =>
      this.#db.transaction(() => {
        const old = this.#stmt.sizeOf.get(entry.key, entry.variant);
        this.#stmt.put.run(entry.key, entry.variant, JSON.stringify(meta), body, size, ++this.#tick);
        this.#size += size - (old?.size ?? 0);
        this.#evict();
      })(),
    );
  }

  delete(key: string): void {
    this.#run(() => {
      const s = this.#stmt.sizeOfKey.get(key)?.size ?? 0;
      this.#stmt.deleteKey.run(key);
      this.#size -= s;
    });
  }

  clear(): void {
    this.#run(() => {
      this.#db.exec("DELETE FROM sessionkit_cache");
      this.#size = 0;
    });
  }

  flush(): void {
    this.#run(() => {
      this.#applyTouches();
      this.#db.pragma("wal_checkpoint(TRUNCATE)");
    });
  }

  close(): void {
    if (this.#closed) return;
    if (this.#touchTimer !== null) clearTimeout(this.#touchTimer);
    this.#touchTimer = null;
    try {
      this.#applyTouches();
    } catch {
      // LRU order is a hint; losing the last second of it must not stop the close.
    }
    this.#closed = true;
    this.#db.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  toString(): string {
    return `SqliteCacheStorage { size: ${this.#size}, maxSize: ${this.#maxSize}${this.#closed ? ", closed" : ""} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  #removeVariant(key: string, variant: string): void {
    const old = this.#stmt.sizeOf.get(key, variant);
    this.#stmt.deleteVariant.run(key, variant);
    this.#size -= old?.size ?? 0;
  }

  #scheduleTouches(): void {
    if (this.#touchTimer !== null) return;
    this.#touchTimer = setTimeout(() => {
      this.#touchTimer = null;
      if (this.#closed) return;
      try {
        this.#applyTouches();
      } catch (err) {
        process.emitWarning(`sessionkit SqliteCacheStorage: could not record cache use (${(err as { code?: string })?.code ?? "error"})`);
      }
    }, 1000);
    this.#touchTimer.unref();
  }

  #applyTouches(): void {
    if (this.#pendingTouches.size === 0) return;
    const touches = [...this.#pendingTouches];
    this.#pendingTouches.clear();
    this.#db.transaction(() => {
      for (const [key, tick] of touches) this.#stmt.touch.run(tick, key);
    })();
  }

  #evict(): void {
    if (this.#size > this.#maxSize) this.#applyTouches(); // eviction must see the latest uses
    while (this.#size > this.#maxSize) {
      const victims = this.#stmt.oldest.all();
      if (victims.length === 0) {
        this.#size = 0;
        return;
      }
      for (const v of victims) {
        this.#stmt.deleteVariant.run(v.key, v.variant);
        this.#size -= v.size;
        if (this.#size <= this.#maxSize) return;
      }
    }
  }

  #run<T>(fn: () => T): T {
    if (this.#closed) throw new CacheStorageError("CACHE_STORAGE_FAILED", "The SQLite cache storage is closed");
    try {
      return fn();
    } catch (err) {
      if (err instanceof CacheStorageError) throw err;
      // The SQLite message may quote SQL but never our keys or bodies (they are bound parameters).
      throw new CacheStorageError("CACHE_STORAGE_FAILED", `SQLite cache storage failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }
}

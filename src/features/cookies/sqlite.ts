/**
 * better-sqlite3 is an optional peer dependency with a native addon: it is loaded only
 * here, through a dynamic import inside the async `open()` factories of the SQLite-backed
 * jars, so `import { Session } from "sessionkit"` never loads it.
 */
import type BetterSqlite3 from "better-sqlite3";
import { StoreUnavailableError } from "./errors.js";

export type SqliteDatabase = BetterSqlite3.Database;

export async function openSqlite(path: string, what: string): Promise<SqliteDatabase> {
  let Database: typeof BetterSqlite3;
  try {
    Database = (await import("better-sqlite3")).default;
  } catch (err) {
    throw new StoreUnavailableError(`${what} needs the optional dependency better-sqlite3 (npm install better-sqlite3)`, { cause: err });
  }
  try {
    const db = new Database(path);
    // WAL + NORMAL: durable across process crashes, without an fsync on every cookie.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    return db;
  } catch (err) {
    throw new StoreUnavailableError(`${what}: cannot open SQLite database ${JSON.stringify(path)}`, { cause: err });
  }
}

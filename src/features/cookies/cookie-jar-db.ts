/**
 * CookieJarDB: libsoup's SoupCookieJarDB, a CookieJar kept in SQLite with libsoup's (and
 * Firefox's) `moz_cookies` table, so a database written by one can be read by the other.
 * All cookies are loaded on open; every change is written through at once (better-sqlite3
 * is synchronous), so a crash loses nothing already answered.
 */
import type { Cookie } from "tough-cookie";
import { Cookie as ToughCookie } from "tough-cookie";
import { CookieJar, type CookieJarOptions } from "./cookie-jar.js";
import { StoreUnavailableError } from "./errors.js";
import { openSqlite, type SqliteDatabase } from "./sqlite.js";

export interface CookieJarDBOptions extends Omit<CookieJarOptions, "store"> {
  /** Also keep session cookies in the database. @default false (as libsoup) */
  persistSessionCookies?: boolean;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS moz_cookies (id INTEGER PRIMARY KEY, name TEXT, value TEXT, host TEXT,
  path TEXT, expiry INTEGER, lastAccessed INTEGER, isSecure INTEGER, isHttpOnly INTEGER, sameSite INTEGER)`;

// libsoup's SoupSameSitePolicy numbering.
const SAME_SITE_TO_INT: Record<string, number> = { none: 0, lax: 1, strict: 2 };
const INT_TO_SAME_SITE = ["none", "lax", "strict"] as const;

interface Row {
  name: string;
  value: string;
  host: string;
  path: string;
  expiry: number;
  lastAccessed: number | null;
  isSecure: number;
  isHttpOnly: number;
  sameSite: number | null;
}

export class CookieJarDB extends CookieJar {
  readonly path: string;
  readonly persistSessionCookies: boolean;
  #db: SqliteDatabase;
  #loading = false;
  #insert;
  #delete;

  private constructor(path: string, db: SqliteDatabase, options: CookieJarDBOptions) {
    super(options);
    this.path = path;
    this.#db = db;
    this.persistSessionCookies = options.persistSessionCookies ?? false;
    this.#insert = db.prepare(
      "INSERT INTO moz_cookies (name, value, host, path, expiry, lastAccessed, isSecure, isHttpOnly, sameSite) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#delete = db.prepare("DELETE FROM moz_cookies WHERE host = ? AND path = ? AND name = ?");
  }

  /** Opens (or creates) the database at `path` and loads its cookies. */
  static async open(path: string, options: CookieJarDBOptions = {}): Promise<CookieJarDB> {
    const db = await openSqlite(path, "CookieJarDB");
    let rows: Row[];
    try {
      db.exec(SCHEMA);
      rows = db.prepare("SELECT name, value, host, path, expiry, lastAccessed, isSecure, isHttpOnly, sameSite FROM moz_cookies").all() as Row[];
    } catch (err) {
      db.close();
      throw new StoreUnavailableError(`CookieJarDB: ${JSON.stringify(path)} is not a cookie database`, { cause: err });
    }
    const jar = new CookieJarDB(path, db, options);
    const now = Date.now();
    jar.#loading = true;
    try {
      for (const r of rows) {
        const c = fromRow(r, now);
        if (c) await jar.store.putCookie(c);
        // Expired rows are swept as libsoup does on load.
        else if (r.expiry !== 0 && typeof r.host === "string") jar.#delete.run(r.host, r.path, r.name);
      }
    } finally {
      jar.#loading = false;
    }
    return jar;
  }

  override get isPersistent(): boolean {
    return true;
  }

  protected override onStoreChange(oldCookie: Cookie | null, newCookie: Cookie | null): void {
    if (this.#loading || this.closed) return;
    try {
      this.#db.transaction(() => {
        if (oldCookie) this.#delete.run(hostOf(oldCookie), oldCookie.path ?? "/", oldCookie.key);
        if (newCookie && (this.persistSessionCookies || isPersistent(newCookie))) {
          const t = newCookie.expiryTime();
          this.#insert.run(
            newCookie.key,
            newCookie.value,
            hostOf(newCookie),
            newCookie.path ?? "/",
            t === undefined || !Number.isFinite(t) ? 0 : Math.floor(t / 1000),
            newCookie.lastAccessed instanceof Date ? Math.floor(newCookie.lastAccessed.getTime() / 1000) : null,
            newCookie.secure ? 1 : 0,
            newCookie.httpOnly ? 1 : 0,
            SAME_SITE_TO_INT[String(newCookie.sameSite)] ?? null,
          );
        }
      })();
    } catch (err) {
      this.emitStoreError(new StoreUnavailableError(`CookieJarDB: cannot write ${JSON.stringify(this.path)}`, { cause: err }));
    }
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    this.#db.close();
  }
}

/** libsoup marks domain cookies with a leading dot in `host`. */
function hostOf(c: Cookie): string {
  return c.hostOnly === false ? `.${c.domain}` : `${c.domain}`;
}

function isPersistent(c: Cookie): boolean {
  const t = c.expiryTime();
  return t !== undefined && Number.isFinite(t);
}

function fromRow(r: Row, now: number): Cookie | null {
  if (typeof r.host !== "string" || typeof r.name !== "string" || typeof r.value !== "string") return null;
  const expiry = Number(r.expiry) || 0;
  if (expiry !== 0 && expiry * 1000 <= now) return null;
  const domain = r.host.replace(/^\./, "").toLowerCase();
  if (domain === "") return null;
  const c = new ToughCookie({
    key: r.name,
    value: r.value,
    domain,
    path: typeof r.path === "string" && r.path.startsWith("/") ? r.path : "/",
    secure: r.isSecure === 1,
    httpOnly: r.isHttpOnly === 1,
    hostOnly: !r.host.startsWith("."),
    expires: expiry === 0 ? "Infinity" : new Date(expiry * 1000),
    sameSite: r.sameSite === null ? undefined : INT_TO_SAME_SITE[r.sameSite],
  });
  const t = new Date(now);
  c.creation = t;
  c.lastAccessed = r.lastAccessed ? new Date(r.lastAccessed * 1000) : t;
  return c;
}

/**
 * HSTSEnforcerDB: libsoup's SoupHSTSEnforcerDB, policies kept in SQLite with libsoup's
 * `soup_hsts_policies` table. Loaded on open, written through on every change (session
 * policies are never written). better-sqlite3 is loaded by the async factory only.
 */
import { openSqlite, type SqliteDatabase } from "../cookies/sqlite.js";
import { StoreUnavailableError } from "../cookies/errors.js";
import { HSTSEnforcer, type HSTSEnforcerOptions } from "./hsts-enforcer.js";
import { canonicalDomain, HSTSPolicy } from "./hsts-policy.js";

const SCHEMA = `CREATE TABLE IF NOT EXISTS soup_hsts_policies (id INTEGER PRIMARY KEY, host TEXT UNIQUE,
  max_age INTEGER, expiry INTEGER, include_subdomains INTEGER)`;

interface Row {
  host: unknown;
  max_age: unknown;
  expiry: unknown;
  include_subdomains: unknown;
}

export class HSTSEnforcerDB extends HSTSEnforcer {
  readonly path: string;
  #db: SqliteDatabase;
  #upsert;
  #delete;

  private constructor(path: string, db: SqliteDatabase, options: HSTSEnforcerOptions) {
    super(options);
    this.path = path;
    this.#db = db;
    this.#upsert = db.prepare(
      `INSERT INTO soup_hsts_policies (host, max_age, expiry, include_subdomains) VALUES (?, ?, ?, ?)
       ON CONFLICT(host) DO UPDATE SET max_age = excluded.max_age, expiry = excluded.expiry, include_subdomains = excluded.include_subdomains`,
    );
    this.#delete = db.prepare("DELETE FROM soup_hsts_policies WHERE host = ?");
  }

  /** Opens (or creates) the database at `path` and loads its unexpired policies. */
  static async open(path: string, options: HSTSEnforcerOptions = {}): Promise<HSTSEnforcerDB> {
    const db = await openSqlite(path, "HSTSEnforcerDB");
    let rows: Row[];
    try {
      db.exec(SCHEMA);
      // Lapsed policies are swept on load.
      db.prepare("DELETE FROM soup_hsts_policies WHERE expiry <= ?").run(Math.floor(Date.now() / 1000));
      rows = db.prepare("SELECT host, max_age, expiry, include_subdomains FROM soup_hsts_policies").all() as Row[];
    } catch (err) {
      db.close();
      throw new StoreUnavailableError(`HSTSEnforcerDB: ${JSON.stringify(path)} is not an HSTS database`, { cause: err });
    }
    const enforcer = new HSTSEnforcerDB(path, db, options);
    for (const r of rows) {
      if (typeof r.host !== "string" || canonicalDomain(r.host) === null) continue;
      const maxAge = Number(r.max_age);
      const expiry = Number(r.expiry);
      if (!Number.isFinite(maxAge) || maxAge < 0 || !Number.isFinite(expiry)) continue;
      enforcer.loadPolicy(new HSTSPolicy(r.host, maxAge, Number(r.include_subdomains) === 1, new Date(expiry * 1000)));
    }
    return enforcer;
  }

  override get isPersistent(): boolean {
    return true;
  }

  protected override onPolicyChange(oldPolicy: HSTSPolicy | null, newPolicy: HSTSPolicy | null): void {
    if (this.closed) return;
    try {
      if (newPolicy) {
        this.#upsert.run(newPolicy.domain, newPolicy.maxAge, Math.floor(newPolicy.expires!.getTime() / 1000), newPolicy.includeSubDomains ? 1 : 0);
      } else if (oldPolicy) {
        this.#delete.run(oldPolicy.domain);
      }
    } catch (err) {
      throw new StoreUnavailableError(`HSTSEnforcerDB: cannot write ${JSON.stringify(this.path)}`, { cause: err });
    }
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    this.#db.close();
  }
}

/**
 * Cross-process "session ended" notifications for the SQLite store: processes sharing a
 * file have no channel but the file, so each event is a row in `<table>_ended`, and each
 * store instance that has listeners polls for rows newer than the last it saw (a primary
 * key lookup: cheap every 250 ms). Rows are tagged with the writing instance's random id,
 * which skips its own; rows older than five minutes are deleted by the next publisher.
 */
import { randomBytes } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import type { SessionEndedEvent, SessionEndReason } from "./contract.js";

const KEEP_MS = 300_000;
const REASONS: ReadonlySet<string> = new Set<SessionEndReason>(["destroy", "regenerate", "revoke-owner"]);

interface EventRow {
  seq: number;
  node: string;
  id: string;
  owner: string | null;
  reason: string;
}

export class SqliteEvents {
  readonly #node = randomBytes(9).toString("base64url");
  readonly #interval: number;
  readonly #run: <T>(fn: () => T) => Promise<T>;
  readonly #insert: BetterSqlite3.Statement<[string, string, string | null, string, number]>;
  readonly #prune: BetterSqlite3.Statement<[number]>;
  readonly #after: BetterSqlite3.Statement<[number], EventRow>;
  readonly #last: BetterSqlite3.Statement<[], { seq: number | null }>;
  readonly #listeners = new Set<(event: SessionEndedEvent) => void>();
  #timer: NodeJS.Timeout | undefined;
  #seen = 0;

  constructor(db: BetterSqlite3.Database, table: string, interval: number, run: <T>(fn: () => T) => Promise<T>) {
    this.#interval = interval;
    this.#run = run;
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL, ` +
        `id TEXT NOT NULL, owner TEXT, reason TEXT NOT NULL, at INTEGER NOT NULL)`,
    );
    this.#insert = db.prepare(`INSERT INTO ${table} (node, id, owner, reason, at) VALUES (?, ?, ?, ?, ?)`);
    this.#prune = db.prepare(`DELETE FROM ${table} WHERE at < ?`);
    this.#after = db.prepare(`SELECT seq, node, id, owner, reason FROM ${table} WHERE seq > ? ORDER BY seq`);
    this.#last = db.prepare(`SELECT MAX(seq) AS seq FROM ${table}`);
  }

  async publish(event: SessionEndedEvent): Promise<void> {
    const now = Date.now();
    await this.#run(() => {
      this.#insert.run(this.#node, event.id, event.owner ?? null, event.reason, now);
      this.#prune.run(now - KEEP_MS);
    });
  }

  subscribe(listener: (event: SessionEndedEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined) {
      // Only what happens from now on: older rows were news to someone else.
      try {
        this.#seen = this.#last.get()?.seq ?? 0;
      } catch {
        this.#seen = 0;
      }
      this.#timer = setInterval(() => this.#poll(), this.#interval);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #poll(): void {
    let rows: EventRow[];
    try {
      rows = this.#after.all(this.#seen);
    } catch {
      return; // a busy or closed file: the next tick tries again
    }
    for (const row of rows) {
      this.#seen = row.seq;
      if (row.node === this.#node || !REASONS.has(row.reason)) continue;
      const event: SessionEndedEvent = { id: row.id, owner: row.owner ?? undefined, reason: row.reason as SessionEndReason };
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch {
          // The middleware's listeners report their own errors.
        }
      }
    }
  }
}

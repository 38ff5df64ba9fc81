/**
 * The default store: a bounded in-process map.
 *
 * Bounded on purpose. Unknown cookies never create entries (the middleware only stores a
 * session that was written to), but a handler that writes on every request would let a
 * client that drops its cookie grow the map forever; `maxEntries` caps it by evicting the
 * least recently used entry, and a sweep timer (unref'd) removes expired ones.
 *
 * Values are kept as JSON text per key so that nothing a handler holds can alias what the
 * store holds (a later in-place mutation must go through the middleware's diff to count).
 */
import { InvalidArgumentError } from "../errors.js";
import { emptyRecord, parseJson } from "../server/json.js";
import type { SessionPatch, SessionStore, StoredSession } from "./contract.js";

export interface MemoryStoreOptions {
  /** Maximum number of live sessions; the least recently used is evicted beyond it. @default 10000 */
  maxEntries?: number;
  /** How often expired entries are swept, in ms (0 disables the timer). @default 60000 */
  sweepInterval?: number;
}

interface Entry {
  values: Map<string, string>;
  createdAt: number;
  expiresAt: number;
}

export class MemoryStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #timer: NodeJS.Timeout | undefined;
  #lastEvictSweep = 0;

  constructor(options: MemoryStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    const sweepInterval = options.sweepInterval ?? 60_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidArgumentError("MemoryStore option maxEntries must be a positive integer");
    }
    if (!Number.isFinite(sweepInterval) || sweepInterval < 0) {
      throw new InvalidArgumentError("MemoryStore option sweepInterval must be a non-negative number");
    }
    this.#maxEntries = maxEntries;
    if (sweepInterval > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepInterval);
      this.#timer.unref();
    }
  }

  /** Number of entries held (live or not yet swept). */
  get size(): number {
    return this.#entries.size;
  }

  /** Removes every expired entry now; returns how many were removed. */
  sweep(now = Date.now()): number {
    let removed = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    this.#bump(id, entry);
    const data = emptyRecord();
    for (const [key, text] of entry.values) data[key] = parseJson(text);
    return { data, createdAt: entry.createdAt, expiresAt: entry.expiresAt };
  }

  async create(id: string, session: StoredSession): Promise<boolean> {
    if (this.#live(id) !== undefined) return false;
    if (this.#entries.size >= this.#maxEntries) this.#evict();
    const values = new Map<string, string>();
    for (const key of Object.keys(session.data)) values.set(key, JSON.stringify(session.data[key]));
    this.#entries.set(id, { values, createdAt: session.createdAt, expiresAt: session.expiresAt });
    return true;
  }

  async update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean> {
    const entry = this.#live(id);
    if (entry === undefined) return false;
    for (const key of Object.keys(patch.set)) entry.values.set(key, JSON.stringify(patch.set[key]));
    for (const key of patch.delete) entry.values.delete(key);
    entry.expiresAt = expiresAt;
    this.#bump(id, entry);
    return true;
  }

  async touch(id: string, expiresAt: number): Promise<boolean> {
    const entry = this.#live(id);
    if (entry === undefined) return false;
    entry.expiresAt = expiresAt;
    this.#bump(id, entry);
    return true;
  }

  async destroy(id: string): Promise<void> {
    this.#entries.delete(id);
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /** Map iteration order is insertion order; re-inserting keeps it least-recently-used first. */
  #bump(id: string, entry: Entry): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }

  #evict(): void {
    // A full sweep is O(n); at capacity under a flood it would run on every create, so it
    // runs at most once a second and plain LRU eviction handles the rest.
    const now = Date.now();
    if (now - this.#lastEvictSweep >= 1000) {
      this.#lastEvictSweep = now;
      if (this.sweep(now) > 0 && this.#entries.size < this.#maxEntries) return;
    }
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) return;
      this.#entries.delete(oldest.value);
    }
  }
}

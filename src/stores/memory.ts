/**
 * The default store: a bounded in-process map.
 *
 * Bounded on purpose. Unknown cookies never create entries (the middleware only stores a
 * session that was written to), but a handler that writes on every request would let a
 * client that drops its cookie grow the map forever; `maxEntries` caps it by evicting a
 * session not used lately (second chance, see `#evict`), and a sweep timer (unref'd)
 * removes expired ones.
 *
 * Values are kept as JSON text per key so that nothing a handler holds can alias what the
 * store holds (a later in-place mutation must go through the middleware's diff to count).
 */
import { InvalidArgumentError } from "../errors.js";
import { emptyRecord, parseStoredJson } from "../server/json.js";
import type { SessionPatch, SessionStore, StoredSession } from "./contract.js";

export interface MemoryStoreOptions {
  /** Maximum number of live sessions; beyond it one not used lately is evicted (second chance). @default 10000 */
  maxEntries?: number;
  /** How often expired entries are swept, in ms (0 disables the timer). @default 60000 */
  sweepInterval?: number;
}

/** One stored session: JSON text per key, as seen through `MemorySyncAccess.peek`. @internal */
export interface MemoryEntry {
  /**
   * Never changed while a request that loaded it may still compare against it: the
   * middleware keeps this map as its snapshot (for the diff at commit) without copying it.
   */
  readonly values: ReadonlyMap<string, string>;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly owner: string | undefined;
  readonly maxAge: number | undefined;
}

interface Entry {
  /**
   * Copy on write: a write replaces the map, unless the writer is the only request still
   * holding it (`readers`), in which case nobody else can see the change and it is made in
   * place. Without this, every request that writes would copy its session's map.
   */
  values: Map<string, string>;
  /**
   * Loads (`peek`) of the current `values` map not yet released by that request's write or
   * touch. Read-only requests never release, which only means the next write copies; the
   * count can be too high, never too low. A new map starts at 0.
   */
  readers: number;
  createdAt: number;
  expiresAt: number;
  owner: string | undefined;
  maxAge: number | undefined;
  /** Used since eviction last passed over it (the second-chance bit, see `#evict`). */
  used: boolean;
}

/**
 * Synchronous access for the middleware core (not public API). The store is in-process,
 * so the middleware can skip the Promise round trips of the `SessionStore` contract and
 * trade JSON text directly (no parse/stringify on the store side). It is only used on a
 * genuine MemoryStore whose contract methods are the original ones (see `memorySyncOf`),
 * so a wrapped, proxied or patched store still sees every call through its own methods.
 * @internal
 */
export interface MemorySyncAccess {
  /**
   * The live entry (marked as used); the caller must not mutate it. Its `values` map stays
   * unchanged until the caller's own `updateJson`/`touchSync` releases it.
   */
  peek(id: string, now: number): MemoryEntry | undefined;
  /** `create` with values as JSON text; the store takes ownership of `values`. */
  createJson(id: string, values: Map<string, string>, createdAt: number, expiresAt: number, now: number): boolean;
  /**
   * `update` with the changed keys as JSON text (`set` holds key, text, key, text, ...).
   * `loaded` is the `values` map the caller's `peek` returned, released by this call.
   */
  updateJson(
    id: string,
    set: readonly string[] | undefined,
    del: readonly string[] | undefined,
    expiresAt: number,
    now: number,
    loaded: ReadonlyMap<string, string>,
  ): boolean;
  /** `touch`; `loaded` as for `updateJson`. */
  touchSync(id: string, expiresAt: number, now: number, loaded: ReadonlyMap<string, string>): boolean;
  destroySync(id: string): void;
}

export class MemoryStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  /** The owner index: ids per owner. Every removal of an entry goes through `#remove`. */
  readonly #owners = new Map<string, Set<string>>();
  readonly #maxEntries: number;
  #timer: NodeJS.Timeout | undefined;
  #lastEvictSweep = 0;
  readonly #sync: MemorySyncAccess;

  /**
   * The synchronous access of `store` when it is a MemoryStore whose contract methods are
   * untouched (not a Proxy, subclass override or patched instance), else `undefined`.
   * @internal
   */
  static syncAccessOf(store: unknown): MemorySyncAccess | undefined {
    if (typeof store !== "object" || store === null || !(#sync in store)) return undefined;
    const m = store as MemoryStore;
    const p = MemoryStore.prototype;
    if (m.get !== p.get || m.create !== p.create || m.update !== p.update || m.touch !== p.touch || m.destroy !== p.destroy) {
      return undefined;
    }
    return m.#sync;
  }

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
    this.#sync = {
      peek: (id, now) => this.#peek(id, now),
      createJson: (id, values, createdAt, expiresAt, now) => this.#createJson(id, values, createdAt, expiresAt, now),
      updateJson: (id, set, del, expiresAt, now, loaded) => this.#updateJson(id, set, del, expiresAt, now, loaded),
      touchSync: (id, expiresAt, now, loaded) => this.#touch(id, expiresAt, now, loaded),
      destroySync: (id) => this.#remove(id),
    };
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
        this.#remove(id);
        removed++;
      }
    }
    return removed;
  }

  async get(id: string): Promise<StoredSession | undefined> {
    const entry = this.#peek(id, Date.now());
    if (entry === undefined) return undefined;
    const data = emptyRecord();
    for (const [key, text] of entry.values) data[key] = parseStoredJson(text);
    const out: StoredSession = { data, createdAt: entry.createdAt, expiresAt: entry.expiresAt };
    if (entry.owner !== undefined) out.owner = entry.owner;
    if (entry.maxAge !== undefined) out.maxAge = entry.maxAge;
    return out;
  }

  async create(id: string, session: StoredSession): Promise<boolean> {
    const values = new Map<string, string>();
    for (const key of Object.keys(session.data)) values.set(key, JSON.stringify(session.data[key]));
    const ok = this.#createJson(id, values, session.createdAt, session.expiresAt, Date.now());
    if (ok) this.#setMeta(id, session.owner ?? null, session.maxAge ?? null);
    return ok;
  }

  async update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean> {
    let set: string[] | undefined;
    for (const key of Object.keys(patch.set)) (set ??= []).push(key, JSON.stringify(patch.set[key]));
    const ok = this.#updateJson(id, set, patch.delete, expiresAt, Date.now());
    if (ok) this.#setMeta(id, patch.owner, patch.maxAge);
    return ok;
  }

  async touch(id: string, expiresAt: number): Promise<boolean> {
    return this.#touch(id, expiresAt, Date.now());
  }

  async destroy(id: string): Promise<void> {
    this.#remove(id);
  }

  async list(): Promise<string[]> {
    const now = Date.now();
    const out: string[] = [];
    for (const [id, entry] of this.#entries) if (entry.expiresAt > now) out.push(id);
    return out;
  }

  async count(): Promise<number> {
    return (await this.list()).length;
  }

  async clear(): Promise<void> {
    this.#entries.clear();
    this.#owners.clear();
  }

  async listByOwner(owner: string): Promise<string[]> {
    const now = Date.now();
    const out: string[] = [];
    for (const id of this.#owners.get(owner) ?? []) if (this.#live(id, now) !== undefined) out.push(id);
    return out;
  }

  async destroyByOwner(owner: string): Promise<string[]> {
    const ids = await this.listByOwner(owner);
    for (const id of [...(this.#owners.get(owner) ?? [])]) this.#remove(id);
    return ids;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
    this.#owners.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #live(id: string, now: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.#remove(id);
      return undefined;
    }
    return entry;
  }

  /** Removes an entry and its owner index entry: the one way entries leave the map. */
  #remove(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    if (entry.owner !== undefined) this.#unindex(entry.owner, id);
  }

  #unindex(owner: string, id: string): void {
    const ids = this.#owners.get(owner);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#owners.delete(owner);
  }

  /** Applies the owner / maxAge of a create or patch (`undefined` leaves, `null` removes). */
  #setMeta(id: string, owner: string | null | undefined, maxAge: number | null | undefined): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    if (maxAge !== undefined) entry.maxAge = maxAge ?? undefined;
    if (owner === undefined || owner === entry.owner) return;
    if (entry.owner !== undefined) this.#unindex(entry.owner, id);
    entry.owner = owner ?? undefined;
    if (owner === null) return;
    let ids = this.#owners.get(owner);
    if (ids === undefined) this.#owners.set(owner, (ids = new Set()));
    ids.add(id);
  }

  #peek(id: string, now: number): Entry | undefined {
    const entry = this.#live(id, now);
    if (entry === undefined) return undefined;
    entry.used = true;
    entry.readers++;
    return entry;
  }

  #createJson(id: string, values: Map<string, string>, createdAt: number, expiresAt: number, now: number): boolean {
    if (this.#live(id, now) !== undefined) return false;
    if (this.#entries.size >= this.#maxEntries) this.#evict();
    // Not marked used: a flood of fresh sessions is evicted before sessions in real use.
    this.#entries.set(id, { values, readers: 0, createdAt, expiresAt, owner: undefined, maxAge: undefined, used: false });
    return true;
  }

  #updateJson(
    id: string,
    set: readonly string[] | undefined,
    del: readonly string[] | undefined,
    expiresAt: number,
    now: number,
    loaded?: ReadonlyMap<string, string>,
  ): boolean {
    const entry = this.#live(id, now);
    if (entry === undefined) return false;
    let values = entry.values;
    if (values === loaded && entry.readers === 1) {
      // The caller is the only request holding this map: change it in place.
      entry.readers = 0;
    } else {
      values = new Map(values);
      entry.values = values;
      entry.readers = 0;
    }
    if (set !== undefined) for (let i = 0; i < set.length; i += 2) values.set(set[i], set[i + 1]);
    if (del !== undefined) for (const key of del) values.delete(key);
    entry.expiresAt = expiresAt;
    entry.used = true;
    return true;
  }

  #touch(id: string, expiresAt: number, now: number, loaded?: ReadonlyMap<string, string>): boolean {
    const entry = this.#live(id, now);
    if (entry === undefined) return false;
    if (entry.values === loaded && entry.readers > 0) entry.readers--;
    entry.expiresAt = expiresAt;
    entry.used = true;
    return true;
  }

  #evict(): void {
    // A full sweep is O(n); at capacity under a flood it would run on every create, so it
    // runs at most once a second and second-chance eviction handles the rest.
    const now = Date.now();
    if (now - this.#lastEvictSweep >= 1000) {
      this.#lastEvictSweep = now;
      if (this.sweep(now) > 0 && this.#entries.size < this.#maxEntries) return;
    }
    // Second chance (CLOCK), an approximation of LRU: Map order is insertion order, and an
    // entry used since it was last passed over goes to the back once instead of out. A use
    // costs one flag write where exact LRU re-inserts the entry on every request (a Map
    // delete and set, a visible share of the middleware's time). One pass clears every flag,
    // so this ends after at most size + 1 steps.
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.entries().next();
      if (oldest.done === true) return;
      const [id, entry] = oldest.value;
      if (entry.used) {
        this.#entries.delete(id);
        entry.used = false;
        this.#entries.set(id, entry);
      } else {
        this.#remove(id);
      }
    }
  }
}

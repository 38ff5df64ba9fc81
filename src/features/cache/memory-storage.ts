/**
 * The default CacheStorage: a Map in insertion order used as an LRU list (a use re-inserts
 * the key at the end, eviction takes from the front), bounded by maxSize in bytes.
 */
import { checkMaxSize, DEFAULT_MAX_SIZE, entrySize, type CacheStorage, type StoredResponse } from "./storage.js";

export interface MemoryCacheStorageOptions {
  /** @default 50 MiB */
  maxSize?: number;
}

export class MemoryCacheStorage implements CacheStorage {
  // key → (variant → entry). Map order is the LRU order of keys.
  #entries = new Map<string, Map<string, StoredResponse>>();
  #size = 0;
  #maxSize: number;

  constructor(options: MemoryCacheStorageOptions = {}) {
    this.#maxSize = checkMaxSize("maxSize", options.maxSize ?? DEFAULT_MAX_SIZE);
  }

  get maxSize(): number {
    return this.#maxSize;
  }
  set maxSize(v: number) {
    this.#maxSize = checkMaxSize("maxSize", v);
    this.#evict();
  }
  get size(): number {
    return this.#size;
  }
  /** Number of stored responses (all variants). */
  get count(): number {
    let n = 0;
    for (const v of this.#entries.values()) n += v.size;
    return n;
  }

  get(key: string): StoredResponse[] {
    const variants = this.#entries.get(key);
    if (variants === undefined) return [];
    this.#entries.delete(key);
    this.#entries.set(key, variants);
    return [...variants.values()].reverse();
  }

  put(entry: StoredResponse): void {
    const size = entrySize(entry);
    if (size > this.#maxSize) return;
    let variants = this.#entries.get(entry.key);
    if (variants === undefined) variants = new Map();
    else this.#entries.delete(entry.key);
    const old = variants.get(entry.variant);
    if (old !== undefined) {
      this.#size -= entrySize(old);
      variants.delete(entry.variant);
    }
    variants.set(entry.variant, entry);
    this.#entries.set(entry.key, variants);
    this.#size += size;
    this.#evict();
  }

  delete(key: string): void {
    const variants = this.#entries.get(key);
    if (variants === undefined) return;
    for (const e of variants.values()) this.#size -= entrySize(e);
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
    this.#size = 0;
  }

  flush(): void {}

  close(): void {
    this.clear();
  }

  #evict(): void {
    while (this.#size > this.#maxSize && this.#entries.size > 0) {
      // Drop the oldest variant of the least recently used key first.
      const [key, variants] = this.#entries.entries().next().value as [string, Map<string, StoredResponse>];
      const [variant, e] = variants.entries().next().value as [string, StoredResponse];
      variants.delete(variant);
      this.#size -= entrySize(e);
      if (variants.size === 0) this.#entries.delete(key);
    }
  }

  toString(): string {
    return `MemoryCacheStorage { entries: ${this.count}, size: ${this.#size}, maxSize: ${this.#maxSize} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

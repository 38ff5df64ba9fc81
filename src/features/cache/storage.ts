/**
 * The contract between the Cache feature and where it keeps responses. Two storages ship
 * (MemoryCacheStorage, SqliteCacheStorage); any object with these methods works, checked at
 * the door by assertCacheStorage (as undici's assertCacheStore does).
 *
 * A response is stored under its primary key (method + URL) and a variant (the values of the
 * request headers its Vary names), so one URL can hold several variants.
 */
import { SessionKitError } from "../../errors.js";

export interface StoredResponse {
  /** Primary key: "GET https://host/path?query". */
  key: string;
  /** Secondary key: a canonical string of `varyHeaders` ("" when the response has no Vary). */
  variant: string;
  /** Lower-case request header name → normalised value (null: absent) for each Vary name. */
  varyHeaders: Record<string, string | null>;
  status: number;
  reasonPhrase: string;
  /** Response headers as a flat [name, value, …] array, as received. */
  headers: string[];
  /** The body as received: still Content-Encoded. */
  body: Uint8Array;
  /** When the request that fetched (or last revalidated) it was sent, ms since the epoch. */
  requestTime: number;
  /** When its headers arrived, ms since the epoch. */
  responseTime: number;
}

type MaybePromise<T> = T | Promise<T>;

export interface CacheStorage {
  /** Bytes the storage may hold; lowering it evicts least recently used entries. */
  maxSize: number;
  /** Bytes held now (bodies, headers and keys). */
  readonly size: number;
  /** Every stored variant for `key`, most recently stored first. Counts as a use for LRU. */
  get(key: string): MaybePromise<StoredResponse[]>;
  /** Stores (or replaces) the variant, then evicts least recently used entries over maxSize. */
  put(entry: StoredResponse): MaybePromise<void>;
  /** Removes every variant of `key`. */
  delete(key: string): MaybePromise<void>;
  clear(): MaybePromise<void>;
  /** Makes stored data durable (no-op for memory). */
  flush(): MaybePromise<void>;
  close(): MaybePromise<void>;
}

/** Storage failures: `STORE_UNAVAILABLE` (driver missing, file unusable) or `CACHE_STORAGE_FAILED`. */
export class CacheStorageError extends SessionKitError {}

const METHODS = ["get", "put", "delete", "clear", "flush", "close"] as const;

/** Refuses an object that does not implement CacheStorage, naming what is missing. */
export function assertCacheStorage(storage: unknown, name = "storage"): asserts storage is CacheStorage {
  if (typeof storage !== "object" || storage === null) throw new TypeError(`Cache: ${name} must be an object`);
  const s = storage as Record<string, unknown>;
  for (const m of METHODS) {
    if (typeof s[m] !== "function") throw new TypeError(`Cache: ${name}.${m} must be a function`);
  }
  if (typeof s.maxSize !== "number" || typeof s.size !== "number") {
    throw new TypeError(`Cache: ${name}.maxSize and ${name}.size must be numbers`);
  }
}

/** What an entry costs against maxSize. */
export function entrySize(e: StoredResponse): number {
  let n = e.body.byteLength + e.key.length + e.variant.length + e.reasonPhrase.length + 64;
  for (const h of e.headers) n += h.length;
  return n;
}

export function checkMaxSize(name: string, v: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a non-negative number of bytes`);
  return Math.floor(v);
}

/** 50 MiB, libsoup's default cache size. */
export const DEFAULT_MAX_SIZE = 50 * 1024 * 1024;

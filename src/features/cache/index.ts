/** The Cache feature (RFC 9111 private cache) and its storages. */
export { Cache, cacheKey } from "./cache.js";
export type { CacheOptions, CacheStatus } from "./cache.js";
export { MemoryCacheStorage } from "./memory-storage.js";
export type { MemoryCacheStorageOptions } from "./memory-storage.js";
export { SqliteCacheStorage } from "./sqlite-storage.js";
export type { SqliteCacheStorageOptions } from "./sqlite-storage.js";
export { CacheStorageError, assertCacheStorage, DEFAULT_MAX_SIZE as DEFAULT_CACHE_MAX_SIZE } from "./storage.js";
export type { CacheStorage, StoredResponse } from "./storage.js";
export { parseCacheControl, parseHttpDate, parseAge, formatHttpDate } from "./cache-control.js";
export { CacheMissError, setRequestCacheMode, requestCacheModeOf } from "./request-mode.js";
export type { RequestCacheMode } from "./request-mode.js";
export type { CacheControl } from "./cache-control.js";
export { freshnessLifetime, currentAge, notStorableReason, connectionNames, HEURISTICALLY_CACHEABLE } from "./policy.js";
export type { NotStorableReason } from "./policy.js";

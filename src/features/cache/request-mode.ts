/**
 * The Fetch standard's request cache mode (`RequestInit.cache`) for a Message, which the Cache
 * feature honours. `session.fetch` sets it from `init.cache` (or `Request.cache`); code that
 * sends Messages directly sets it with `setRequestCacheMode`.
 *
 * The mode is kept beside the message (a WeakMap), not in a request header: it is an
 * instruction to this client's cache, not to the server or to proxies. (Fetch's own header
 * side effects, `Cache-Control: max-age=0` for no-cache and `Pragma`/`Cache-Control: no-cache`
 * for no-store and reload, are added by session.fetch as the standard says.)
 */
import { InvalidArgumentError, SessionKitError } from "../../errors.js";
import type { Message } from "../../http/message.js";

/**
 * - `default`: RFC 9111 as usual: fresh hit, else revalidate or fetch, store when allowed.
 * - `no-store`: neither look up nor store.
 * - `reload`: do not look up; store the network response.
 * - `no-cache`: a stored response is always revalidated first (even a fresh or `immutable`
 *   one); without validators the response is fetched again.
 * - `force-cache`: any stored response is used, however stale; else fetch and store.
 * - `only-if-cached`: any stored response is used, however stale; else the request fails
 *   with CacheMissError (`CACHE_MISS`) without touching the network.
 */
export type RequestCacheMode = "default" | "no-store" | "reload" | "no-cache" | "force-cache" | "only-if-cached";

const MODES: ReadonlySet<string> = new Set(["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"]);
const modes = new WeakMap<Message, RequestCacheMode>();

/** `only-if-cached` found nothing usable in the cache (the Fetch standard's network error). */
export class CacheMissError extends SessionKitError {
  constructor(message = 'Cache mode "only-if-cached" and no stored response', options?: { cause?: unknown }) {
    super("CACHE_MISS", message, options);
  }
}

/** Sets the cache mode the Cache feature applies to `msg` (all its attempts). */
export function setRequestCacheMode(msg: Message, mode: RequestCacheMode): void {
  if (typeof mode !== "string" || !MODES.has(mode)) {
    throw new InvalidArgumentError(`cache must be one of ${[...MODES].map((m) => `"${m}"`).join(", ")}`);
  }
  if (mode === "default") modes.delete(msg);
  else modes.set(msg, mode);
}

/** The cache mode of `msg` ("default" unless set). */
export function requestCacheModeOf(msg: Message): RequestCacheMode {
  return modes.get(msg) ?? "default";
}

/**
 * `session.fetch`'s mapping of `init.cache`: the mode for the Cache feature plus the request
 * headers the Fetch standard adds for it (HTTP-network-or-cache fetch, steps on cache mode),
 * so proxies and the server see the same intent. Headers the caller set are left alone.
 */
export function applyFetchCacheMode(msg: Message, mode: RequestCacheMode): void {
  setRequestCacheMode(msg, mode);
  const h = msg.requestHeaders;
  if (mode === "no-cache" && !h.has("Cache-Control")) h.set("Cache-Control", "max-age=0");
  if (mode === "no-store" || mode === "reload") {
    if (!h.has("Pragma")) h.set("Pragma", "no-cache");
    if (!h.has("Cache-Control")) h.set("Cache-Control", "no-cache");
  }
}

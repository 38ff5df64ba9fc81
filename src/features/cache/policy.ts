/**
 * RFC 9111 rules for a private cache, as pure functions of headers and times: may this
 * response be stored (§3), how long is it fresh (§4.2.1, heuristics §4.2.2), how old is it
 * (§4.2.3), may it be served for this request (§4.2.4, §5.2.1), which Vary variant a request
 * selects (§4.1), and how a 304 updates the stored headers (§3.2, §4.3.4).
 */
import { MessageHeaders } from "../../http/headers.js";
import { parseAge, parseCacheControl, parseHttpDate, type CacheControl } from "./cache-control.js";
import type { StoredResponse } from "./storage.js";

/** RFC 9110 §15.1: statuses that are cacheable by default (heuristic freshness allowed). */
export const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);
/** Statuses this cache understands well enough to store (§3: 206 needs range support, which we lack). */
const STORABLE_STATUS = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);
/** Hop-by-hop fields (§3.1): never stored, never copied from a 304. */
const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "proxy-authenticate",
  "proxy-authentication-info",
];
/**
 * Also never stored: per-response auth data (Digest's rspauth / nextnonce answer one request
 * only). Set-Cookie IS stored (RFC 9111 §3.1 lets a cache keep it, and the caller of a hit gets
 * the response as it was received); the Cache feature keeps stored Set-Cookie lines out of
 * the headers the cookie feature sees on a hit, so the jar applies each once, on the network
 * response that carried it.
 */
const NOT_STORED = new Set([...HOP_BY_HOP, "authentication-info"]);
/** §3.2: fields a 304 does not update. */
const NOT_UPDATED_BY_304 = new Set([...HOP_BY_HOP, "content-length", "content-encoding", "content-range"]);

export interface PolicyOptions {
  /** Heuristic freshness is this fraction of (Date − Last-Modified). @default 0.1 */
  heuristicFraction: number;
  /** Upper bound for heuristic freshness, seconds. @default 86400 (24 hours) */
  heuristicMaxAge: number;
}

/** Why a response was not stored (for `cache.statusOf()` and tests). */
export type NotStorableReason = "method" | "status" | "no-store" | "vary-star" | "authorization" | "no-freshness-info" | "must-understand";

/**
 * §3 "Storing Responses in Caches", for a private cache. The request headers are the ones
 * actually sent (so Authorization added by the auth feature counts).
 */
export function notStorableReason(method: string, reqHeaders: MessageHeaders, status: number, resHeaders: MessageHeaders): NotStorableReason | null {
  if (method !== "GET") return "method";
  const req = parseCacheControl(reqHeaders.get("Cache-Control"));
  if (req.noStore) return "no-store";
  const res = parseCacheControl(resHeaders.get("Cache-Control"));
  if (res.mustUnderstand && !STORABLE_STATUS.has(status)) return "must-understand";
  // §5.2.2.3 lets a cache that understands the status ignore no-store next to must-understand;
  // we keep honouring no-store, the safer reading.
  if (res.noStore) return "no-store";
  if (!STORABLE_STATUS.has(status)) return "status";
  if (varyNames(resHeaders) === "*") return "vary-star";
  // §3.5 is written for shared caches; like libsoup we apply it here too, so a response
  // to an authenticated request is kept only when the server says it may be.
  if (reqHeaders.has("Authorization") && !res.public && !res.mustRevalidate && res.sMaxAge === undefined) return "authorization";
  const hasExplicit =
    res.public === true || res.private !== undefined || res.maxAge !== undefined || resHeaders.has("Expires") || res.sMaxAge !== undefined;
  if (!hasExplicit && !HEURISTICALLY_CACHEABLE.has(status)) return "no-freshness-info";
  return null;
}

/** The lower-case field names of Vary, or "*" (never matches). */
export function varyNames(resHeaders: MessageHeaders): string[] | "*" {
  const v = resHeaders.get("Vary");
  if (v === null) return [];
  const names = v
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return names.includes("*") ? "*" : [...new Set(names)].sort();
}

/** §4.1: header values compared after combining lines and collapsing whitespace. */
export function normalizeFieldValue(v: string | null): string | null {
  return v === null ? null : v.replace(/[ \t]+/g, " ").trim();
}

/** Picks the request header values a response's Vary names, and a canonical variant string. */
export function selectVaryHeaders(
  names: readonly string[],
  reqHeaders: MessageHeaders,
): { varyHeaders: Record<string, string | null>; variant: string } {
  const varyHeaders: Record<string, string | null> = {};
  for (const n of names) varyHeaders[n] = normalizeFieldValue(reqHeaders.get(n));
  return { varyHeaders, variant: names.length === 0 ? "" : JSON.stringify(names.map((n) => [n, varyHeaders[n]])) };
}

/** §4.1: does the stored variant match this request? */
export function varyMatches(entry: StoredResponse, reqHeaders: MessageHeaders): boolean {
  for (const [name, value] of Object.entries(entry.varyHeaders)) {
    if (normalizeFieldValue(reqHeaders.get(name)) !== value) return false;
  }
  return true;
}

function headersOf(e: StoredResponse): MessageHeaders {
  const h = new MessageHeaders();
  for (let i = 0; i < e.headers.length; i += 2) h.append(e.headers[i], e.headers[i + 1]);
  return h;
}

/** The stored response's headers as MessageHeaders (values were validated when received). */
export function storedHeaders(e: StoredResponse): MessageHeaders {
  try {
    return headersOf(e);
  } catch {
    // A damaged entry (e.g. edited on disk) must not throw out of the session.
    return new MessageHeaders();
  }
}

/** §4.2.1 (private cache: s-maxage ignored) and §4.2.2. Seconds. */
export function freshnessLifetime(e: StoredResponse, opts: PolicyOptions, headers = storedHeaders(e)): number {
  const cc = parseCacheControl(headers.get("Cache-Control"));
  if (cc.maxAge !== undefined) return cc.maxAge;
  const expiresRaw = headers.get("Expires");
  if (expiresRaw !== null) {
    const expires = parseHttpDate(expiresRaw);
    if (expires === null) return 0; // invalid dates, "0" included, are in the past
    const date = parseHttpDate(headers.get("Date")) ?? e.responseTime;
    return Math.max(0, (expires - date) / 1000);
  }
  if (!HEURISTICALLY_CACHEABLE.has(e.status) && !cc.public) return 0;
  const lastModified = parseHttpDate(headers.get("Last-Modified"));
  if (lastModified === null) return 0;
  const date = parseHttpDate(headers.get("Date")) ?? e.responseTime;
  const heuristic = Math.max(0, ((date - lastModified) / 1000) * opts.heuristicFraction);
  return Math.min(heuristic, opts.heuristicMaxAge);
}

/**
 * What a hit needs from an entry, parsed once per stored object: memory storage hands out
 * the same object on every hit, so repeated hits skip header parsing (a WeakMap, so the memo
 * goes away with the entry).
 */
interface Parsed {
  headers: MessageHeaders;
  cc: CacheControl;
  opts: PolicyOptions;
  lifetime: number;
  dateValue: number;
  ageHeader: number;
}
const parsedEntries = new WeakMap<StoredResponse, Parsed>();

function parsed(e: StoredResponse, opts: PolicyOptions): Parsed {
  let p = parsedEntries.get(e);
  if (p === undefined || p.opts !== opts) {
    const headers = storedHeaders(e);
    p = {
      headers,
      cc: parseCacheControl(headers.get("Cache-Control")),
      opts,
      lifetime: freshnessLifetime(e, opts, headers),
      dateValue: parseHttpDate(headers.get("Date")) ?? e.responseTime,
      ageHeader: parseAge(headers.get("Age")),
    };
    parsedEntries.set(e, p);
  }
  return p;
}

/** §4.2.3 current_age, seconds. */
export function currentAge(e: StoredResponse, now: number, headers = storedHeaders(e)): number {
  return ageFrom(e, now, parseHttpDate(headers.get("Date")) ?? e.responseTime, parseAge(headers.get("Age")));
}

function ageFrom(e: StoredResponse, now: number, dateValue: number, ageHeader: number): number {
  const ageValue = ageHeader; // already parsed by parseAge: a non-negative integer
  const apparentAge = Math.max(0, (e.responseTime - dateValue) / 1000);
  const responseDelay = Math.max(0, (e.responseTime - e.requestTime) / 1000);
  const correctedAgeValue = ageValue + responseDelay;
  const correctedInitialAge = Math.max(apparentAge, correctedAgeValue);
  const residentTime = Math.max(0, (now - e.responseTime) / 1000);
  return correctedInitialAge + residentTime;
}

export interface ServeDecision {
  /** May be sent without contacting the server. */
  fresh: boolean;
  /** Seconds, for the Age header. */
  age: number;
  /** The stored response has a validator, so a conditional request can revalidate it. */
  canRevalidate: boolean;
  headers: MessageHeaders;
}

/** §4.2.4 and §5.2: may this stored response answer this request without validation? */
export function serveDecision(e: StoredResponse, reqCc: CacheControl, reqHeaders: MessageHeaders, now: number, opts: PolicyOptions): ServeDecision {
  const p = parsed(e, opts);
  const { cc: resCc, lifetime } = p;
  const age = ageFrom(e, now, p.dateValue, p.ageHeader);
  const headers = new MessageHeaders(p.headers); // a copy: the caller may change it (Age)
  const canRevalidate = headers.has("ETag") || headers.has("Last-Modified");
  // Pragma: no-cache counts only when there is no Cache-Control (RFC 9111 §5.4).
  const reqNoCache =
    reqCc.noCache !== undefined || (!reqHeaders.has("Cache-Control") && /(^|,)\s*no-cache\s*(,|$)/i.test(reqHeaders.get("Pragma") ?? ""));
  let fresh = !reqNoCache && resCc.noCache === undefined && age < lifetime;
  if (fresh && reqCc.maxAge !== undefined && age > reqCc.maxAge) fresh = false;
  if (fresh && reqCc.minFresh !== undefined && lifetime - age < reqCc.minFresh) fresh = false;
  // max-stale: the client accepts a stale response, unless the server forbids it.
  if (!fresh && !reqNoCache && resCc.noCache === undefined && reqCc.maxStale !== undefined && !resCc.mustRevalidate) {
    if (age - lifetime <= reqCc.maxStale) fresh = true;
  }
  return { fresh, age, canRevalidate, headers };
}

/**
 * §3.1 / RFC 9110 §7.6.1: the field names a Connection header lists are hop-by-hop for this
 * response (as are the fixed hop-by-hop names), so neither stored nor taken from a 304.
 */
export function connectionNames(h: MessageHeaders): Set<string> {
  const out = new Set<string>();
  const v = h.get("Connection");
  if (v === null) return out;
  for (const name of v.split(",")) {
    const n = name.trim().toLowerCase();
    if (n !== "") out.add(n);
  }
  return out;
}

/** §3.2: the stored headers updated with those of a 304 (Content-Length and hop-by-hop kept). */
export function updateHeadersFrom304(stored: MessageHeaders, notModified: MessageHeaders): MessageHeaders {
  const out = new MessageHeaders(stored);
  const seen = new Set<string>();
  const hop = connectionNames(notModified);
  for (const [name, value] of notModified) {
    const lower = name.toLowerCase();
    if (NOT_UPDATED_BY_304.has(lower) || hop.has(lower)) continue;
    if (!seen.has(lower)) {
      out.delete(name);
      seen.add(lower);
    }
    out.append(name, value);
  }
  return out;
}

/** The headers kept when storing a response (§3.1: no hop-by-hop fields). */
export function headersToStore(h: MessageHeaders): string[] {
  const out: string[] = [];
  const hop = connectionNames(h);
  for (const [name, value] of h) {
    const lower = name.toLowerCase();
    if (!NOT_STORED.has(lower) && !hop.has(lower)) out.push(name, value);
  }
  return out;
}

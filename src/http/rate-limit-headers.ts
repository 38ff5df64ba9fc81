/**
 * Rate-limit headers: `Retry-After` (delta seconds or an HTTP date), `RateLimit-Reset` /
 * `RateLimit-Remaining` (any case, also `X-RateLimit-*`), and the structured `RateLimit`
 * field of the IETF drafts. Read by the session's retry option (retry.ts) and by the
 * credential sessions' login gates (login/rate-limit.ts). Linear in the input.
 */
import type { MessageHeaders } from "./headers.js";

/** Waits longer than a day are treated as a day: a bogus header must not lock us out for years. */
const MAX_WAIT_MS = 24 * 60 * 60 * 1000;
/** Reset values above this are epoch seconds (atproto), below it delta seconds (IETF draft). */
const EPOCH_THRESHOLD = 1_000_000_000;

/** Parses `Retry-After` (delta seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return clampWait(Number(v) * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? null : clampWait(date - now);
}

function parseReset(value: string, now: number): number | null {
  const v = value.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) return null;
  const n = Number(v);
  return clampWait(n > EPOCH_THRESHOLD ? n * 1000 - now : n * 1000);
}

function clampWait(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) return 0;
  return Math.min(Math.ceil(ms), MAX_WAIT_MS);
}

export interface RateLimitInfo {
  /** Remaining requests in the window, when the server said. */
  remaining: number | null;
  /** Milliseconds until a new attempt is allowed, when the server said. */
  waitMs: number | null;
}

/**
 * Reads every rate-limit header we know: `Retry-After`; `RateLimit-Remaining` /
 * `RateLimit-Reset` (any case, also `X-RateLimit-*`); and the structured `RateLimit` field
 * of the IETF drafts (`limit=10, remaining=0, reset=30` or `"policy";r=0;t=30`).
 */
export function readRateLimit(headers: MessageHeaders, now = Date.now()): RateLimitInfo {
  let remaining: number | null = null;
  let waitMs: number | null = parseRetryAfter(headers.getOne("Retry-After"), now);
  const rem = headers.getOne("RateLimit-Remaining") ?? headers.getOne("X-RateLimit-Remaining");
  if (rem !== null && /^\s*\d+\s*$/.test(rem)) remaining = Number(rem);
  const reset = headers.getOne("RateLimit-Reset") ?? headers.getOne("X-RateLimit-Reset");
  const structured = headers.getOne("RateLimit");
  let resetMs = reset === null ? null : parseReset(reset, now);
  if (structured !== null) {
    const r = /(?:^|[;,\s])(?:remaining|r)=(\d+)/i.exec(structured);
    const t = /(?:^|[;,\s])(?:reset|t)=(\d+)/i.exec(structured);
    if (r && remaining === null) remaining = Number(r[1]);
    if (t && resetMs === null) resetMs = parseReset(t[1], now);
  }
  // Retry-After is the explicit instruction; the reset time is the fallback.
  if (waitMs === null) waitMs = resetMs;
  return { remaining, waitMs };
}

/**
 * Login rate limits. Services that hand out sessions limit how often one may log in
 * (Bluesky: per account and per IP) and say so on 429 with `Retry-After` and the IETF
 * `RateLimit-*` headers (`ratelimit-*` in atproto). A `LoginGate` remembers until when the
 * service asked us to wait and refuses to send before then, so no loop in the application
 * (or in our own lazy re-login) can hammer the login endpoint.
 */
import type { MessageHeaders } from "../http/headers.js";
import { RateLimitedError } from "./errors.js";

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

export interface LoginGateOptions {
  /** How long to wait after a 429 that names no time. @default 60_000 */
  defaultWaitMs?: number;
}

/** Remembers until when logins are refused and refuses to send before then. */
export class LoginGate {
  #blockedUntil = 0;
  readonly #defaultWaitMs: number;

  constructor(options: LoginGateOptions = {}) {
    this.#defaultWaitMs = options.defaultWaitMs ?? 60_000;
  }

  /** Epoch ms until which attempts are refused (0: not blocked). */
  get blockedUntil(): number {
    return this.#blockedUntil;
  }

  /** Throws RateLimitedError (without touching the network) while the service asked us to wait. */
  check(what = "login", now = Date.now()): void {
    if (now < this.#blockedUntil) throw new RateLimitedError(this.#blockedUntil - now, what);
  }

  /**
   * Learns from an answer of the limited endpoint. On 429 returns the error to throw; on a
   * success with `remaining: 0` blocks the next attempt until the window resets.
   */
  observe(status: number, headers: MessageHeaders, what = "login", now = Date.now()): RateLimitedError | null {
    const info = readRateLimit(headers, now);
    if (status === 429) {
      const wait = info.waitMs ?? this.#defaultWaitMs;
      this.#blockedUntil = Math.max(this.#blockedUntil, now + wait);
      return new RateLimitedError(wait, what);
    }
    if (info.remaining === 0 && info.waitMs !== null && info.waitMs > 0) {
      this.#blockedUntil = Math.max(this.#blockedUntil, now + info.waitMs);
    }
    return null;
  }
}

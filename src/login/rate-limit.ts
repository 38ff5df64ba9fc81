/**
 * Login rate limits. Services that hand out sessions limit how often one may log in
 * (Bluesky: per account and per IP) and say so on 429 with `Retry-After` and the IETF
 * `RateLimit-*` headers (`ratelimit-*` in atproto). A `LoginGate` remembers until when the
 * service asked us to wait and refuses to send before then, so no loop in the application
 * (or in our own lazy re-login) can hammer the login endpoint.
 */
import type { MessageHeaders } from "../http/headers.js";
import { readRateLimit } from "../http/rate-limit-headers.js";
import { RateLimitedError } from "./errors.js";

// The header parsing is the HTTP layer's (the session's retry option reads the same headers).
export { parseRetryAfter, readRateLimit, type RateLimitInfo } from "../http/rate-limit-headers.js";

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

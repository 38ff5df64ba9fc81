/**
 * The session's retry option (got's `retry`, ky's `retry`, undici's RetryAgent), decided
 * here and carried out by the message runner as one more kind of restart: same hooks, same
 * `restarted` event (with reason "retry"), same message. Opt-in: a session retries nothing
 * unless `retry` is set on it or on the message.
 *
 * Rules: only for methods in `methods` (idempotent ones by default), only when the request
 * body can be sent again, on a status in `statusCodes` or a network error in `errorCodes`;
 * the wait is exponential backoff with full jitter (AWS's "full jitter": a uniform draw up to
 * min(cap, base·2^n)), unless the server said how long (`Retry-After`, `RateLimit-Reset`):
 * that is honoured up to `maxRetryAfter`, and a longer demand ends with RetryAfterTooLongError
 * that says how long the server asked for.
 */
import { InvalidArgumentError, SessionKitError } from "../errors.js";
import type { MessageHeaders } from "./headers.js";
import { readRateLimit } from "./rate-limit-headers.js";

export interface RetryOptions {
  /** Retries after the first attempt. @default 2 */
  limit?: number;
  /** Methods that may be retried. @default GET, HEAD, OPTIONS, PUT, DELETE, TRACE */
  methods?: readonly string[];
  /** Response statuses that are retried. @default 408, 413, 429, 500, 502, 503, 504 */
  statusCodes?: readonly number[];
  /**
   * Failures that are retried: sessionkit codes (CONNECTION_RESET, CONNECTION_FAILED, TIMEOUT)
   * or the system codes behind them (ECONNRESET, ECONNREFUSED, ETIMEDOUT, …).
   * @default CONNECTION_RESET, CONNECTION_FAILED, TIMEOUT, ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, ENOTFOUND, EAI_AGAIN, ENETUNREACH, EHOSTUNREACH
   */
  errorCodes?: readonly string[];
  /** First backoff ceiling in ms (the draw is uniform in [0, base·2^n]). @default 300 */
  backoffBase?: number;
  /** Largest backoff in ms. @default 10_000 */
  backoffCap?: number;
  /** Longest server-requested wait (Retry-After, RateLimit-Reset) honoured, in ms. @default 60_000 */
  maxRetryAfter?: number;
}

export type NormalizedRetry = Required<{ [K in keyof RetryOptions]: NonNullable<RetryOptions[K]> }> & {
  methodSet: ReadonlySet<string>;
  statusSet: ReadonlySet<number>;
  errorSet: ReadonlySet<string>;
};

const DEFAULT_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"];
const DEFAULT_STATUSES = [408, 413, 429, 500, 502, 503, 504];
const DEFAULT_ERRORS = [
  "CONNECTION_RESET",
  "CONNECTION_FAILED",
  "TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
];

/** The server asked to wait longer than `maxRetryAfter` (`RETRY_AFTER_TOO_LONG`). */
export class RetryAfterTooLongError extends SessionKitError {
  /** How long the server asked to wait, in ms. */
  readonly retryAfter: number;
  /** The status of the answer that asked. */
  readonly status: number;
  constructor(retryAfter: number, status: number, max: number) {
    super(
      "RETRY_AFTER_TOO_LONG",
      `The server answered ${status} and asked to wait ${Math.ceil(retryAfter / 1000)} s before retrying, longer than maxRetryAfter (${Math.ceil(max / 1000)} s)`,
    );
    this.retryAfter = retryAfter;
    this.status = status;
  }
}

function nonNegative(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`retry.${name} must be a finite number >= 0`);
  return v;
}

/** Validates a retry option (a number is the limit; false or 0 turns retries off). */
export function normalizeRetry(value: RetryOptions | number | boolean | null | undefined): NormalizedRetry | null {
  if (value === undefined || value === null || value === false || value === 0) return null;
  const o: RetryOptions = value === true ? {} : typeof value === "number" ? { limit: value } : value;
  if (typeof o !== "object") throw new InvalidArgumentError("retry must be an object, a number or a boolean");
  const limit = nonNegative("limit", o.limit, 2);
  if (!Number.isInteger(limit)) throw new InvalidArgumentError("retry.limit must be an integer");
  const methods = (o.methods ?? DEFAULT_METHODS).map((m) => String(m).toUpperCase());
  const statusCodes = [...(o.statusCodes ?? DEFAULT_STATUSES)];
  const errorCodes = [...(o.errorCodes ?? DEFAULT_ERRORS)];
  return {
    limit,
    methods,
    statusCodes,
    errorCodes,
    backoffBase: nonNegative("backoffBase", o.backoffBase, 300),
    backoffCap: nonNegative("backoffCap", o.backoffCap, 10_000),
    maxRetryAfter: nonNegative("maxRetryAfter", o.maxRetryAfter, 60_000),
    methodSet: new Set(methods),
    statusSet: new Set(statusCodes),
    errorSet: new Set(errorCodes),
  };
}

/** Full-jitter backoff for retry number `n` (1-based). */
export function backoffDelay(policy: NormalizedRetry, n: number, random = Math.random): number {
  const ceiling = Math.min(policy.backoffCap, policy.backoffBase * 2 ** (n - 1));
  return Math.floor(random() * ceiling);
}

/** Whether a failure (a typed error, or the system error behind it) is one to retry. */
export function retryableError(policy: NormalizedRetry, err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && policy.errorSet.has(code)) return true;
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === "string" && policy.errorSet.has(cause);
}

/**
 * The wait before retrying a response with `status`: the server's (Retry-After, then
 * RateLimit-Reset) when it named one, else backoff. Throws RetryAfterTooLongError when the
 * server's wait is over `maxRetryAfter`.
 */
export function retryDelay(policy: NormalizedRetry, n: number, status: number, headers: MessageHeaders | null): number {
  if (headers !== null) {
    const asked = readRateLimit(headers).waitMs;
    if (asked !== null) {
      if (asked > policy.maxRetryAfter) throw new RetryAfterTooLongError(asked, status, policy.maxRetryAfter);
      return asked;
    }
  }
  return backoffDelay(policy, n);
}

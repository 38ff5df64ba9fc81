/**
 * Middleware options, their defaults (written once, mirrored as `@default`) and their
 * validation. Invalid options throw `InvalidArgumentError` naming the option, never
 * echoing a secret.
 */
import { InvalidArgumentError } from "../errors.js";
import { assertSessionStore, type SessionStore } from "../stores/contract.js";
import { MemoryStore } from "../stores/memory.js";
import { resolveCookieOptions, serializeCookie, type CookieOptions, type ResolvedCookieOptions } from "./cookie.js";
import type { SessionKitError } from "../errors.js";

export type Secret = string | Buffer;

export interface SessionOptions {
  /**
   * Key(s) for the cookie HMAC, at least 32 bytes each. With a list, the first signs and
   * all verify, so a new secret can be put first while old cookies stay valid.
   */
  secret: Secret | readonly Secret[];
  /** Where sessions live. @default new MemoryStore() */
  store?: SessionStore;
  cookie?: CookieOptions;
  /** Trust `X-Forwarded-Proto` for `cookie.secure: "auto"`. @default false */
  trustProxy?: boolean;
  /** A session unused for this long (ms) expires. @default 86_400_000 (24 h) */
  idleTimeout?: number;
  /** A session older than this (ms) expires whatever its use. @default 604_800_000 (7 days) */
  absoluteTimeout?: number;
  /** Renew the cookie's expiry when the session is used (the store expiry is always renewed). @default true */
  rolling?: boolean;
  /**
   * Minimum time (ms) between two expiry renewals of an unchanged session, so that reads
   * do not turn into writes. @default min(60_000, idleTimeout / 10)
   */
  touchAfter?: number;
  /** Store new sessions even when nothing was written to them. @default false */
  saveUninitialized?: boolean;
  /**
   * The lifetimes `session.setMaxAge(ms)` accepts, in ms ("remember me" needs a `max`
   * above `absoluteTimeout`). @default { min: 1000, max: absoluteTimeout }
   */
  maxAgeBounds?: { min?: number; max?: number };
  /**
   * Receives errors that cannot be delivered to a framework (a store failure while a
   * node:http/Express response is finishing). @default console.error
   */
  onError?: (error: SessionKitError | Error) => void;
}

export interface ResolvedOptions {
  secrets: Buffer[];
  store: SessionStore;
  ownsStore: boolean;
  cookie: ResolvedCookieOptions;
  trustProxy: boolean;
  idleTimeout: number;
  absoluteTimeout: number;
  rolling: boolean;
  touchAfter: number;
  saveUninitialized: boolean;
  maxAgeBounds: { min: number; max: number };
  onError: (error: SessionKitError | Error) => void;
}

const MIN_SECRET_BYTES = 32;

function positiveMs(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds`);
  }
  return v;
}

export function resolveOptions(options: SessionOptions): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new InvalidArgumentError("sessionMiddleware needs an options object with a secret");
  }
  if (options.secret === undefined || options.secret === null) {
    throw new InvalidArgumentError(
      "sessionMiddleware needs a secret: options.secret is required (a string or Buffer of at least 32 random bytes, or a list of them)",
    );
  }
  const list = Array.isArray(options.secret) ? options.secret : [options.secret];
  if (list.length === 0) throw new InvalidArgumentError("secret must not be an empty list");
  const secrets = list.map((s: unknown, i: number) => {
    if (typeof s !== "string" && !Buffer.isBuffer(s)) {
      throw new InvalidArgumentError(`secret[${i}] must be a string or a Buffer`);
    }
    const buf = typeof s === "string" ? Buffer.from(s, "utf8") : Buffer.from(s);
    if (buf.length < MIN_SECRET_BYTES) {
      throw new InvalidArgumentError(`secret[${i}] is too short: use at least ${MIN_SECRET_BYTES} random bytes`);
    }
    return buf;
  });
  if (options.store !== undefined) assertSessionStore(options.store);
  const idleTimeout = positiveMs("idleTimeout", options.idleTimeout, 86_400_000);
  const absoluteTimeout = positiveMs("absoluteTimeout", options.absoluteTimeout, 604_800_000);
  const touchAfter = options.touchAfter ?? Math.min(60_000, idleTimeout / 10);
  if (typeof touchAfter !== "number" || !Number.isFinite(touchAfter) || touchAfter < 0) {
    throw new InvalidArgumentError("touchAfter must be a non-negative number of milliseconds");
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new InvalidArgumentError("onError must be a function");
  }
  if (options.maxAgeBounds !== undefined && (typeof options.maxAgeBounds !== "object" || options.maxAgeBounds === null)) {
    throw new InvalidArgumentError("maxAgeBounds must be an object { min, max }");
  }
  const max = positiveMs("maxAgeBounds.max", options.maxAgeBounds?.max, absoluteTimeout);
  const maxAgeBounds = { min: positiveMs("maxAgeBounds.min", options.maxAgeBounds?.min, Math.min(1000, max)), max };
  if (maxAgeBounds.min > maxAgeBounds.max) throw new InvalidArgumentError("maxAgeBounds.min must not be above maxAgeBounds.max");
  const cookie = resolveCookieOptions(options.cookie);
  // Fail at startup, not on the first request, when name/path/domain make the cookie too big.
  serializeCookie(cookie, "x".repeat(87), true, absoluteTimeout);
  return {
    secrets,
    store: options.store ?? new MemoryStore(),
    ownsStore: options.store === undefined,
    cookie,
    trustProxy: options.trustProxy ?? false,
    idleTimeout,
    absoluteTimeout,
    rolling: options.rolling ?? true,
    touchAfter,
    saveUninitialized: options.saveUninitialized ?? false,
    maxAgeBounds,
    onError: options.onError ?? ((error) => console.error(error)),
  };
}

/**
 * The session cookie: id generation, HMAC-SHA256 signing, constant-time verification,
 * `Cookie` header parsing and `Set-Cookie` serialization.
 *
 * The cookie value is `<id>.<mac>`: a 256-bit random id and the HMAC-SHA256 of it, both
 * base64url (43 characters each). Any value that is not exactly that shape is rejected
 * before any HMAC is computed, so oversized or truncated cookies cost nothing.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { InvalidArgumentError } from "../errors.js";
import { CookieTooLargeError } from "./errors.js";

const ID_BYTES = 32;
const B64_LEN = 43; // base64url length of 32 bytes without padding
/**
 * `<id>.<mac>`. The MAC's last character carries 4 bits of data and 2 of padding, which a
 * decoder ignores; only the canonical characters (padding bits zero) are accepted, so no
 * two different cookie values verify as the same one.
 */
const VALUE_RE = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTR_RE = /^[\x21-\x3a\x3c-\x7e]*$/; // printable, no ';' and no whitespace
/** Browsers ignore cookies longer than this (name + value + attributes). */
export const MAX_COOKIE_BYTES = 4096;
/** At most this many same-named cookies are looked at, so duplicates cannot amplify work. */
const MAX_CANDIDATES = 4;

export type SameSite = "Strict" | "Lax" | "None";

export interface CookieOptions {
  /** Cookie name. `__Host-` and `__Secure-` prefixes are honoured. @default "sid" */
  name?: string;
  /** @default "/" */
  path?: string;
  /** @default undefined (host-only cookie) */
  domain?: string;
  /** @default "Lax" */
  sameSite?: SameSite;
  /** @default true */
  httpOnly?: boolean;
  /**
   * `true`, `false`, or `"auto"`: Secure when the request came over HTTPS (proxy headers
   * count only with `trustProxy`). @default "auto"
   */
  secure?: boolean | "auto";
  /** Send `Max-Age`/`Expires` so the cookie outlives the browser session. @default true */
  persistent?: boolean;
  /** Add the `Partitioned` attribute (CHIPS). @default false */
  partitioned?: boolean;
}

export type ResolvedCookieOptions = Required<Omit<CookieOptions, "domain">> & { domain: string | undefined };

/** A fresh session id: 256 bits from the CSPRNG, base64url. */
export function generateId(): string {
  return randomBytes(ID_BYTES).toString("base64url");
}

export function resolveCookieOptions(options: CookieOptions = {}): ResolvedCookieOptions {
  const resolved: ResolvedCookieOptions = {
    name: options.name ?? "sid",
    path: options.path ?? "/",
    domain: options.domain,
    sameSite: options.sameSite ?? "Lax",
    httpOnly: options.httpOnly ?? true,
    secure: options.secure ?? "auto",
    persistent: options.persistent ?? true,
    partitioned: options.partitioned ?? false,
  };
  if (!TOKEN_RE.test(resolved.name)) throw new InvalidArgumentError("cookie.name must be a cookie token (RFC 6265)");
  if (!resolved.path.startsWith("/") || !ATTR_RE.test(resolved.path)) {
    throw new InvalidArgumentError("cookie.path must start with '/' and contain no ';', spaces or control characters");
  }
  if (resolved.domain !== undefined && (resolved.domain === "" || !ATTR_RE.test(resolved.domain))) {
    throw new InvalidArgumentError("cookie.domain must be a non-empty host name");
  }
  if (!["Strict", "Lax", "None"].includes(resolved.sameSite)) {
    throw new InvalidArgumentError('cookie.sameSite must be "Strict", "Lax" or "None"');
  }
  if (resolved.secure !== true && resolved.secure !== false && resolved.secure !== "auto") {
    throw new InvalidArgumentError('cookie.secure must be true, false or "auto"');
  }
  const lower = resolved.name.toLowerCase();
  if (lower.startsWith("__host-")) {
    // The browser rejects a __Host- cookie unless it is Secure, Path=/ and has no Domain.
    if (resolved.secure === false || resolved.path !== "/" || resolved.domain !== undefined) {
      throw new InvalidArgumentError("a __Host- cookie needs secure not false, path '/' and no domain");
    }
  } else if (lower.startsWith("__secure-") && resolved.secure === false) {
    throw new InvalidArgumentError("a __Secure- cookie needs secure not false");
  }
  if (resolved.sameSite === "None" && resolved.secure === false) {
    throw new InvalidArgumentError('cookie.sameSite "None" needs secure not false (browsers drop it otherwise)');
  }
  return resolved;
}

/** How many verified cookie values are remembered (see CookieSigner.match). */
const VERIFIED_CACHE_SIZE = 10_000;

/** A cookie value whose signature checked out. Shared between requests: never mutated. */
export interface VerifiedCookie {
  /** The cookie value as received, `<id>.<mac>`. */
  readonly value: string;
  /** The session id it names. */
  readonly id: string;
  /** Signed by the first (current) secret, so `value` can be sent back as it is. */
  readonly current: boolean;
}

/** Signs with the first secret, verifies with all of them (key rotation). */
export class CookieSigner {
  /** Imported once: no per-request key import. */
  readonly #keys: KeyObject[];
  /**
   * Values whose signature already checked out. An HMAC through node:crypto costs a few
   * microseconds per request (a native context and buffers per call): the largest single
   * cost of the middleware. A value that verified once verifies forever under the same
   * secrets, so repeat requests of a client skip the HMAC. Only *valid* values enter the
   * map, so forged cookies cannot fill it or learn anything from its timing (a hit needs
   * the exact valid value already in hand); it is bounded, oldest out first. We keep
   * node:crypto rather than hand-write SHA-256.
   *
   * The record also keeps the id string, so a repeat request neither slices a new one nor
   * hashes it again for the store lookup (V8 keeps a string's hash with the string).
   */
  readonly #verified = new Map<string, VerifiedCookie>();

  constructor(secrets: readonly Buffer[]) {
    this.#keys = secrets.map((s) => createSecretKey(s));
  }

  sign(id: string): string {
    return `${id}.${createHmac("sha256", this.#keys[0]).update(id).digest("base64url")}`;
  }

  /**
   * The id when `value` carries a valid signature by any secret, else `undefined`.
   * `current` says the first (signing) secret matched, so `value` can be sent back as is.
   */
  verify(value: string): { id: string; current: boolean } | undefined {
    const checked = this.check(value);
    return checked === undefined ? undefined : { id: checked.id, current: checked.current };
  }

  /** The verified cookie when `value` carries a valid signature by any secret, else `undefined`. */
  check(value: string): VerifiedCookie | undefined {
    const known = this.#verified.get(value);
    if (known !== undefined) return known;
    // Any value that is not exactly <43 base64url>.<43 base64url> costs no HMAC.
    if (value.length !== 2 * B64_LEN + 1 || !VALUE_RE.test(value)) return undefined;
    const id = value.slice(0, B64_LEN);
    const given = Buffer.from(value.slice(B64_LEN + 1), "base64url");
    if (given.length !== 32) return undefined;
    // Every key is tried even after a match, each compared in constant time, so timing
    // reveals neither the MAC nor which key signed.
    let match = -1;
    for (let i = 0; i < this.#keys.length; i++) {
      const expected = createHmac("sha256", this.#keys[i]).update(id).digest();
      if (timingSafeEqual(expected, given) && match === -1) match = i;
    }
    if (match === -1) return undefined;
    // Own copies: `value` is a slice of the request's whole Cookie header, which the
    // cache would otherwise keep alive (up to 10,000 headers of several KiB each).
    const verified: VerifiedCookie = Object.freeze({ value: flatCopy(value), id: flatCopy(id), current: match === 0 });
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(value, verified);
    return verified;
  }
}

/** A copy of an ASCII string that does not share memory with the string it was sliced from. */
function flatCopy(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

/**
 * Every value of cookie `name` in a `Cookie` header, in header order (at most a few).
 * Only the matching pairs are sliced: the other cookies in the header cost no allocation.
 */
export function readCookieValues(header: string | undefined, name: string): readonly string[] {
  if (header === undefined) return NONE;
  // Built from a literal: the first push onto `[]` would reserve 17 slots for one value.
  let out: string[] | undefined;
  const len = header.length;
  let start = 0;
  // The next '=' at or after `start`, found once and reused until `start` passes it: a
  // search per pair would rescan the rest of the header for every `;` of a run without
  // '=' (quadratic: `;` × 200 KB took 152 ms). Each character is now looked at a bounded
  // number of times.
  let eq = -2;
  while (start < len && (out === undefined || out.length < MAX_CANDIDATES)) {
    let end = header.indexOf(";", start);
    if (end === -1) end = len;
    if (eq !== -1 && eq < start) eq = header.indexOf("=", start);
    if (eq !== -1 && eq < end) {
      // The trimmed name must equal `name`.
      let a = start;
      let b = eq;
      while (a < b && isSpace(header.charCodeAt(a))) a++;
      while (b > a && isSpace(header.charCodeAt(b - 1))) b--;
      if (b - a === name.length && header.startsWith(name, a)) {
        let v0 = eq + 1;
        let v1 = end;
        while (v0 < v1 && isSpace(header.charCodeAt(v0))) v0++;
        while (v1 > v0 && isSpace(header.charCodeAt(v1 - 1))) v1--;
        if (v1 - v0 >= 2 && header.charCodeAt(v0) === 0x22 && header.charCodeAt(v1 - 1) === 0x22) {
          v0++;
          v1--;
        }
        const value = header.slice(v0, v1);
        if (out === undefined) out = [value];
        else out.push(value);
      }
    }
    start = end + 1;
  }
  return out ?? NONE;
}
const NONE: readonly string[] = Object.freeze([]);

/** Exactly what `String.prototype.trim` removes. */
function isSpace(c: number): boolean {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * Builds a `Set-Cookie` value. `maxAgeMs` undefined means a browser-session cookie;
 * `0` clears the cookie. Throws `CookieTooLargeError` instead of letting a browser
 * silently drop an oversized cookie.
 */
export function serializeCookie(
  options: ResolvedCookieOptions,
  value: string,
  secure: boolean,
  maxAgeMs: number | undefined,
  now = Date.now(),
): string {
  return new CookieSerializer(options).serialize(value, secure, maxAgeMs, now);
}

/** `serializeCookie` with the fixed attributes joined once, for the request path. */
export class CookieSerializer {
  readonly #head: string;
  readonly #path: string;
  readonly #tail: string;
  readonly #tailSecure: string;

  constructor(options: ResolvedCookieOptions) {
    this.#head = `${options.name}=`;
    this.#path = `; Path=${options.path}${options.domain !== undefined ? `; Domain=${options.domain}` : ""}`;
    const httpOnly = options.httpOnly ? "; HttpOnly" : "";
    const rest = `; SameSite=${options.sameSite}${options.partitioned ? "; Partitioned" : ""}`;
    this.#tail = httpOnly + rest;
    this.#tailSecure = `${httpOnly}; Secure${rest}`;
  }

  serialize(value: string, secure: boolean, maxAgeMs: number | undefined, now = Date.now()): string {
    let out = this.#head + value + this.#path;
    if (maxAgeMs !== undefined) {
      // Rounded up: the expiry was computed a moment before `now`, and 86399 for a day looks like a bug.
      const seconds = maxAgeMs <= 0 ? 0 : Math.ceil(maxAgeMs / 1000);
      const expires = seconds === 0 ? new Date(0) : new Date(now + seconds * 1000);
      out += `; Max-Age=${seconds}; Expires=${expires.toUTCString()}`;
    }
    out += secure ? this.#tailSecure : this.#tail;
    // At most 3 UTF-8 bytes per UTF-16 unit: short cookies cannot be too large.
    if (out.length > MAX_COOKIE_BYTES / 3) {
      const size = Buffer.byteLength(out);
      if (size > MAX_COOKIE_BYTES) throw new CookieTooLargeError(size);
    }
    return out;
  }
}

/** Whether the cookie must carry `Secure` for a request that is (or is not) HTTPS. */
export function cookieIsSecure(options: ResolvedCookieOptions, requestIsSecure: boolean): boolean {
  const lower = options.name.toLowerCase();
  // The prefixes are only accepted by browsers with Secure, so they force it on.
  if (lower.startsWith("__host-") || lower.startsWith("__secure-")) return true;
  if (options.secure === "auto") return requestIsSecure;
  return options.secure;
}

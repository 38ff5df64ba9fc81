/**
 * JarCookie: the read-only view of a stored cookie that the jar hands out (libsoup's
 * SoupCookie). We do not hand out tough-cookie's `Cookie` itself because its toString()
 * and util.inspect print the value, and cookie values are secrets: a JarCookie prints
 * `name=<redacted>` (and JSON.stringify leaves the value out) unless you ask for the header
 * form explicitly.
 */
import { inspect } from "node:util";
import { Cookie } from "tough-cookie";

export type SameSite = "strict" | "lax" | "none";

export interface CookieInit {
  name: string;
  value: string;
  /** Domain without a leading dot. */
  domain: string;
  path?: string;
  /** Absent or null: a session cookie (gone when the process ends unless persisted on purpose). */
  expires?: Date | null;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: SameSite | null;
  /** True (the default) when the cookie goes to `domain` only, not its subdomains. */
  hostOnly?: boolean;
}

export class JarCookie {
  readonly name: string;
  readonly value: string;
  readonly domain: string;
  readonly path: string;
  readonly expires: Date | null;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: SameSite | null;
  readonly hostOnly: boolean;
  readonly creation: Date | null;
  readonly lastAccessed: Date | null;

  constructor(init: CookieInit & { creation?: Date | null; lastAccessed?: Date | null }) {
    this.name = init.name;
    this.value = init.value;
    this.domain = init.domain.replace(/^\./, "").toLowerCase();
    this.path = init.path ?? "/";
    this.expires = init.expires ?? null;
    this.secure = init.secure ?? false;
    this.httpOnly = init.httpOnly ?? false;
    this.sameSite = init.sameSite ?? null;
    this.hostOnly = init.hostOnly ?? true;
    this.creation = init.creation ?? null;
    this.lastAccessed = init.lastAccessed ?? null;
  }

  /** @internal */
  static fromTough(c: Cookie): JarCookie {
    const ms = c.expiryTime();
    const same = c.sameSite === "strict" || c.sameSite === "lax" || c.sameSite === "none" ? c.sameSite : null;
    return new JarCookie({
      name: c.key,
      value: c.value,
      domain: c.domain ?? "",
      path: c.path ?? "/",
      expires: ms === undefined || !Number.isFinite(ms) ? null : new Date(ms),
      secure: c.secure,
      httpOnly: c.httpOnly,
      sameSite: same,
      hostOnly: c.hostOnly !== false,
      creation: c.creation instanceof Date ? c.creation : null,
      lastAccessed: c.lastAccessed instanceof Date ? c.lastAccessed : null,
    });
  }

  /** @internal */
  toTough(): Cookie {
    const c = new Cookie({
      key: this.name,
      value: this.value,
      domain: this.domain,
      path: this.path,
      secure: this.secure,
      httpOnly: this.httpOnly,
      hostOnly: this.hostOnly,
      expires: this.expires ?? "Infinity",
      sameSite: this.sameSite ?? undefined,
    });
    if (this.creation) c.creation = this.creation;
    if (this.lastAccessed) c.lastAccessed = this.lastAccessed;
    return c;
  }

  /** True when the cookie has an expiry date (libsoup: expires != NULL). */
  get persistent(): boolean {
    return this.expires !== null;
  }

  isExpired(now = Date.now()): boolean {
    return this.expires !== null && this.expires.getTime() <= now;
  }

  /** `name=value` as it goes into a Cookie request header. Contains the secret value. */
  toCookieHeader(): string {
    return this.name === "" ? this.value : `${this.name}=${this.value}`;
  }

  /** The cookie as a Set-Cookie header value. Contains the secret value. */
  toSetCookieHeader(): string {
    return this.toTough().toString();
  }

  /** Redacted: never prints the value. */
  toString(): string {
    const attrs = [`Domain=${this.hostOnly ? "" : "."}${this.domain}`, `Path=${this.path}`];
    if (this.expires) attrs.push(`Expires=${this.expires.toUTCString()}`);
    if (this.secure) attrs.push("Secure");
    if (this.httpOnly) attrs.push("HttpOnly");
    if (this.sameSite) attrs.push(`SameSite=${this.sameSite}`);
    return `JarCookie { ${this.name}=<redacted>; ${attrs.join("; ")} }`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * What `JSON.stringify(cookie)` writes: every attribute but the value, which shows only
   * through `.value` and the header methods. (A JSON dump of the jar is a log line waiting
   * to happen; persist cookies with CookieJarText / CookieJarDB, which do keep values.)
   */
  toJSON(): Omit<CookieInit, "value"> & { value: "<redacted>"; creation: Date | null; lastAccessed: Date | null } {
    return {
      name: this.name,
      value: "<redacted>",
      domain: this.domain,
      path: this.path,
      expires: this.expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      sameSite: this.sameSite,
      hostOnly: this.hostOnly,
      creation: this.creation,
      lastAccessed: this.lastAccessed,
    };
  }
}

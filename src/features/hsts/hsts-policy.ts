/**
 * HSTSPolicy: libsoup's SoupHSTSPolicy, an immutable value. A session policy (set by the
 * application with setSessionPolicy) has no expiry and lives until the enforcer goes.
 */
import { domainToASCII } from "node:url";
import { InvalidArgumentError } from "../../errors.js";
import { isIpLiteral } from "../cookies/site.js";

export class HSTSPolicy {
  /** Canonical ASCII host, lower case, no trailing dot. */
  readonly domain: string;
  /** Seconds from the header; null for a session policy. */
  readonly maxAge: number | null;
  /** When the policy lapses; null for a session policy. */
  readonly expires: Date | null;
  readonly includeSubDomains: boolean;

  constructor(domain: string, maxAge: number | null, includeSubDomains: boolean, expires?: Date | null) {
    const d = canonicalDomain(domain);
    if (d === null) throw new InvalidArgumentError(`HSTSPolicy: ${JSON.stringify(String(domain).slice(0, 100))} is not a host name`);
    if (maxAge !== null && (!Number.isFinite(maxAge) || maxAge < 0))
      throw new InvalidArgumentError("HSTSPolicy: `maxAge` must be a non-negative number of seconds");
    this.domain = d;
    this.maxAge = maxAge;
    this.includeSubDomains = includeSubDomains;
    this.expires = maxAge === null ? null : (expires ?? new Date(Date.now() + maxAge * 1000));
  }

  /** libsoup's soup_hsts_policy_new_session_policy. */
  static sessionPolicy(domain: string, includeSubDomains: boolean): HSTSPolicy {
    return new HSTSPolicy(domain, null, includeSubDomains);
  }

  get isSessionPolicy(): boolean {
    return this.expires === null;
  }

  isExpired(now = Date.now()): boolean {
    return this.expires !== null && this.expires.getTime() <= now;
  }

  /** Same domain, max-age and includeSubDomains (expiry may differ: a refreshed policy). */
  equals(other: HSTSPolicy): boolean {
    return this.domain === other.domain && this.maxAge === other.maxAge && this.includeSubDomains === other.includeSubDomains;
  }

  toString(): string {
    const age = this.maxAge === null ? "session" : `max-age=${this.maxAge}`;
    return `HSTSPolicy { ${this.domain}; ${age}${this.includeSubDomains ? "; includeSubDomains" : ""} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

/** ASCII (punycode) lower-case host without trailing dot; null for IPs and non-hosts. */
export function canonicalDomain(host: string): string | null {
  if (typeof host !== "string") return null;
  let h = host.trim().toLowerCase();
  while (h.endsWith(".")) h = h.slice(0, -1);
  if (h === "" || h.length > 253 || isIpLiteral(h) || /[\s/:?#@\\[\]%]/.test(h)) return null;
  const ascii = domainToASCII(h);
  if (ascii === "") return null;
  // The WHATWG parser also turns IPv4 spellings like 0x7f.1 into 127.0.0.1: catch those.
  let parsed: string;
  try {
    parsed = new URL(`http://${ascii}/`).hostname;
  } catch {
    return null;
  }
  if (parsed !== ascii || isIpLiteral(parsed)) return isIpLiteral(parsed) ? null : parsed;
  return ascii;
}

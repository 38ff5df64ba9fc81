/**
 * Site arithmetic shared by the accept policies and SameSite: the registrable domain
 * ("eTLD+1", libsoup's soup_tld_get_base_domain) of a host, from the Public Suffix List that
 * tough-cookie ships (tldts). Hosts without one (IP literals, `localhost`, bare TLDs) are
 * their own site, which is what browsers do.
 */
import { getPublicSuffix } from "tough-cookie";

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Lower-cased host without IPv6 brackets or a trailing dot. */
export function canonicalHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  while (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

export function isIpLiteral(host: string): boolean {
  const h = canonicalHost(host);
  return IPV4.test(h) || h.includes(":");
}

// A PSL lookup costs tens of microseconds and the jar asks for the same few hosts over and
// over (every store, every eviction scan). The memo is bounded: cleared when full.
const MEMO_MAX = 4096;
const memo = new Map<string, string>();

/** The registrable domain of `host`, or the host itself when it has none. */
export function registrableDomain(host: string): string {
  const hit = memo.get(host);
  if (hit !== undefined) return hit;
  const h = canonicalHost(host);
  let base: string | undefined;
  if (h !== "" && !isIpLiteral(h)) {
    try {
      // ignoreError: special-use names (.local, .test, localhost) must not throw here.
      base = getPublicSuffix(h, { allowSpecialUseDomain: true, ignoreError: true });
    } catch {
      base = undefined;
    }
  }
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(host, base ?? h);
  return base ?? h;
}

/** Same site = same registrable domain (scheme-less, as libsoup and RFC 6265bis "site for cookies"). */
export function isSameSite(a: URL, b: URL): boolean {
  return registrableDomain(a.hostname) === registrableDomain(b.hostname);
}

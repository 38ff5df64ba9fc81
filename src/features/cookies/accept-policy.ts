/**
 * libsoup's SoupCookieJarAcceptPolicy: which incoming cookies the jar keeps. The policy is
 * about storing only; cookies already in the jar are still sent (as libsoup does).
 */
export const CookieJarAcceptPolicy = {
  /** Accept every cookie the RFC 6265 rules allow. */
  ALWAYS: 0,
  /** Accept no cookies at all. */
  NEVER: 1,
  /** Refuse cookies from a site other than the message's first party. */
  NO_THIRD_PARTY: 2,
  /**
   * Like NO_THIRD_PARTY, but a third-party site that already has cookies in the jar (set
   * while it was a first party) may keep updating them.
   */
  GRANDFATHERED_THIRD_PARTY: 3,
} as const;
export type CookieJarAcceptPolicyValue = (typeof CookieJarAcceptPolicy)[keyof typeof CookieJarAcceptPolicy];

export function isAcceptPolicy(v: unknown): v is CookieJarAcceptPolicyValue {
  return v === 0 || v === 1 || v === 2 || v === 3;
}

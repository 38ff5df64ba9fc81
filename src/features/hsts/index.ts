/** HSTS: libsoup's SoupHSTSEnforcer, SoupHSTSEnforcerDB and SoupHSTSPolicy (RFC 6797). */
export { HSTSEnforcer } from "./hsts-enforcer.js";
export type { HSTSEnforcerEvents, HSTSEnforcerOptions } from "./hsts-enforcer.js";
export { HSTSEnforcerDB } from "./hsts-enforcer-db.js";
export { HSTSPolicy, canonicalDomain } from "./hsts-policy.js";
export { parseStsHeader, MAX_STS_AGE, MAX_STS_HEADER_LENGTH } from "./sts-header.js";
export type { StsDirectives } from "./sts-header.js";

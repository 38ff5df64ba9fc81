/** Cookies: libsoup's SoupCookieJar, SoupCookieJarText and SoupCookieJarDB. */
export { CookieJar, SET_COOKIE_LIMITS, sameSiteContext } from "./cookie-jar.js";
export type { CookieJarOptions, CookieJarEvents, GetCookiesOptions, SetCookieOptions } from "./cookie-jar.js";
export { CookieJarText } from "./cookie-jar-text.js";
export type { CookieJarTextOptions } from "./cookie-jar-text.js";
export { CookieJarDB } from "./cookie-jar-db.js";
export type { CookieJarDBOptions } from "./cookie-jar-db.js";
export { CookieJarAcceptPolicy } from "./accept-policy.js";
export type { CookieJarAcceptPolicyValue } from "./accept-policy.js";
export { JarCookie } from "./jar-cookie.js";
export type { CookieInit, SameSite } from "./jar-cookie.js";
export { DEFAULT_COOKIE_LIMITS } from "./guarded-store.js";
export type { CookieLimits } from "./guarded-store.js";
export { StoreUnavailableError } from "./errors.js";
export { registrableDomain, isSameSite } from "./site.js";
export { parseNetscapeFile, formatNetscapeLine } from "./netscape-format.js";

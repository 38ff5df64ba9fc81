/**
 * The auth feature: AuthManager and the Basic, Digest and Bearer schemes. Every Session
 * carries an AuthManager by default, as libsoup's do; the Session composes it itself
 * (http/session.ts), so importing this module changes nothing.
 */

export { AuthManager } from "./auth-manager.js";
export { Auth, isAuthClass } from "./auth.js";
export type { AuthInit, AuthClass } from "./auth.js";
export { AuthBasic } from "./basic.js";
export { AuthDigest } from "./digest.js";
export { AuthBearer } from "./bearer.js";
export { AuthError } from "./errors.js";
export { parseChallenges, parseChallengeHeaders, parseAuthParams, decodeExtValue, encodeExtValue } from "./challenge-parser.js";
export type { AuthChallenge } from "./challenge-parser.js";

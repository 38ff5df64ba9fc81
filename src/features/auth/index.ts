/**
 * The auth feature: AuthManager and the Basic, Digest and Bearer schemes. Importing this
 * module makes every new Session carry an AuthManager by default, as libsoup does.
 */
import { registerDefaultFeature } from "../../http/session.js";
import { AuthManager } from "./auth-manager.js";

export { AuthManager } from "./auth-manager.js";
export { Auth, isAuthClass } from "./auth.js";
export type { AuthInit, AuthClass } from "./auth.js";
export { AuthBasic } from "./basic.js";
export { AuthDigest } from "./digest.js";
export { AuthBearer } from "./bearer.js";
export { AuthError } from "./errors.js";
export { parseChallenges, parseChallengeHeaders, parseAuthParams, decodeExtValue, encodeExtValue } from "./challenge-parser.js";
export type { AuthChallenge } from "./challenge-parser.js";

registerDefaultFeature(() => new AuthManager());

/**
 * sessionkit/login — credential sessions: a generic core (CredentialSession + profiles)
 * and two ready profiles, atproto (Bluesky / any PDS) and API-key services (astrometry.net).
 */
export { CredentialSession } from "./credential-session.js";
export type { CredentialSessionOptions, LoginInput } from "./credential-session.js";
export { CredentialFeature } from "./credential-feature.js";
export type { CredentialProfile, ProfileContext, Exchange, ExchangeKind } from "./profile.js";
export { SessionEvent, SessionChange } from "./session-events.js";
export type { SessionEventName, SessionChangeListener } from "./session-events.js";
export {
  ApiKeyError,
  LoginFailedError,
  RateLimitedError,
  SessionExpiredError,
  NotLoggedInError,
  InvalidSessionStringError,
  InsecureEndpointError,
  ServiceError,
} from "./errors.js";
export { encodeSessionString, decodeSessionString, SESSION_STRING_VERSION } from "./session-string.js";
export { decodeJwtClaims, jwtExpiresAt } from "./jwt.js";
export type { JwtClaims } from "./jwt.js";
export { refreshSchedule } from "./token-clock.js";
export { LoginGate, readRateLimit, parseRetryAfter } from "./rate-limit.js";
export { CoordinatorUnavailableError, assertCoordinator } from "./coordinator.js";
export type { CredentialCoordinator, CoordinationOptions, SharedSessionState, CoordinatorLease, ChangeWatch } from "./coordinator.js";
export { MemoryCoordinator } from "./coordinators/memory.js";
export type { RateLimitInfo } from "./rate-limit.js";
export { AtprotoSession } from "./atproto-session.js";
export type { AtprotoSessionOptions, XrpcParams } from "./atproto-session.js";
export {
  AtprotoProfile,
  DEFAULT_ATPROTO_SERVICE,
  parseAtprotoSessionString,
  formatAtprotoSessionString,
  pdsFromDidDoc,
  isLoopbackHost,
} from "./atproto-profile.js";
export type { AtprotoCredentials, AtprotoState } from "./atproto-profile.js";
export { ApiKeySession, ApiKeyProfile, ASTROMETRY_API_URL, ASTROMETRY_API_KEY_ENV } from "./api-key-session.js";
export type { ApiKeySessionOptions, ApiKeyLoginOptions, ApiKeyCredentials, ApiKeyState } from "./api-key-session.js";
export { resolveApiKey } from "./api-key.js";
export type { ApiKeySources, ApiKeySource } from "./api-key.js";

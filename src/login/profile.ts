/**
 * The contract between the generic credential session and a service profile. The core
 * (CredentialSession) owns timing, single flight, rate-limit gates, events and retries; a
 * profile only says how its service logs in, refreshes, logs out, attaches credentials,
 * reports an expired token and writes its state down. Adding a service adds one profile.
 */
import type { MessageHeaders } from "../http/headers.js";
import type { Message } from "../http/message.js";
import type { Session } from "../http/session.js";

/** What a login/refresh/logout round trip produced. */
export interface Exchange {
  status: number;
  headers: MessageHeaders;
  /** The body parsed as JSON, or null when it is not JSON. */
  json: unknown;
}

export type ExchangeKind = "login" | "refresh" | "logout";

/** What the core hands to a profile's network operations. */
export interface ProfileContext {
  /** The HTTP session every request goes through. */
  readonly http: Session;
  /**
   * Sends a login, refresh or logout message: without the credential feature (the profile
   * sets its own headers), marked sensitive for the Logger, ahead of queued requests, through
   * the rate-limit gate of `kind`; reads a capped body. Throws RateLimitedError on 429.
   */
  exchange(msg: Message, kind: ExchangeKind): Promise<Exchange>;
}

export interface CredentialProfile<TCredentials, TState> {
  /** Names the profile inside sessionkit session strings (e.g. "atproto"). */
  readonly name: string;
  /** Logs in with credentials; throws LoginFailedError when refused. */
  createSession(ctx: ProfileContext, credentials: TCredentials, current: TState | null): Promise<TState>;
  /**
   * Trades the state for a fresh one (rotating the refresh token when the service does).
   * Throws SessionExpiredError when refresh is impossible. Without it, the core renews by
   * logging in again with `autoCredentials()`, or reports EXPIRED.
   */
  refreshSession?(ctx: ProfileContext, state: TState): Promise<TState>;
  /** Ends the session on the server. */
  deleteSession?(ctx: ProfileContext, state: TState): Promise<void>;
  /** Credentials the session may log in with by itself (lazy login, re-login); null: none. */
  autoCredentials?(): TCredentials | null;
  /** True when requests to `url` should carry this session's credentials. */
  inScope(url: URL, state: TState | null): boolean;
  /** Adds the credentials to a request in scope (header, form field…). Called on every attempt. */
  applyCredentials(msg: Message, state: TState): void;
  /** The access token, when it is a JWT whose `exp` tells when to refresh. */
  accessToken?(state: TState): string | null;
  /** The refresh token, when it is a JWT whose `exp` tells when refresh becomes impossible. */
  refreshToken?(state: TState): string | null;
  /** Header-only verdict "the token this request carried has expired" (gotHeaders). */
  expiredByHeaders?(status: number, headers: MessageHeaders): boolean;
  /** Whether a response is worth buffering (small) to ask `expiredByBody`. */
  inspectBody?(status: number, headers: MessageHeaders): boolean;
  /** Body verdict: `json` is the parsed body, or null when it was not JSON. */
  expiredByBody?(status: number, headers: MessageHeaders, json: unknown): boolean;
  /** The state as plain JSON for sessionkit session strings. */
  encodeState(state: TState): Record<string, unknown>;
  /** Checks and rebuilds a state from `encodeState` output; throws InvalidSessionStringError. */
  decodeState(json: Record<string, unknown>): TState;
  /** The profile's own export format (e.g. atproto's `:::`), instead of `sessionkit:1:`. */
  exportSessionString?(state: TState): string;
  /** Reads the profile's own format; returns null when `value` is not in it. */
  importSessionString?(value: string): TState | null;
  /** Public, secret-free facts about the session (handle, endpoint…), for events and inspect. */
  describe(state: TState): Record<string, string>;
}

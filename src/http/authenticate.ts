/**
 * The payload of the session's `authenticate` event (libsoup's SoupMessage::authenticate
 * signal): emitted by the AuthManager feature when a 401/407 needs credentials the cache
 * does not have. A listener may answer synchronously or later (asynchronously); the message
 * waits until `authenticate()` or `cancel()` is called, or until every listener returned
 * without calling either (then the 401/407 goes to the caller).
 */
import type { Message } from "./message.js";

export interface AuthChallengeInfo {
  /** Scheme name as the server sent it, e.g. "Digest", "Basic", "Bearer". */
  scheme: string;
  /** The realm, or "" when the challenge has none. */
  realm: string;
  /** True when credentials were already tried for this message and were rejected. */
  isRetry: boolean;
  /** True for a proxy (407 / Proxy-Authenticate) challenge. */
  isProxy: boolean;
  /** Challenge parameters other than secrets (e.g. algorithm, qop, domain). */
  params: Readonly<Record<string, string>>;
}

export interface AuthenticateRequest extends AuthChallengeInfo {
  readonly message: Message;
  /**
   * Supplies credentials (for Bearer: pass the token as `password` and "" as username).
   * May be called asynchronously; the message is requeued with them.
   */
  authenticate(username: string, password: string): void;
  /** Gives up: the 401/407 response is handed to the caller. */
  cancel(): void;
  /**
   * Tells the auth manager that a listener will answer later. Call it synchronously in the
   * listener before starting async work (libsoup's soup_session_pause_message equivalent).
   */
  defer(): void;
}

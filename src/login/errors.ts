/**
 * Errors of credential sessions (sessionkit/login). Every one extends SessionKitError with a
 * stable `code`. None of them ever carries a secret: messages name places and endpoints,
 * never passwords, tokens, API keys or session strings, and server error text is cut short
 * and scrubbed before it is quoted (see `safeServerText`).
 */
import { SessionKitError, type SessionKitErrorOptions } from "../errors.js";

/** No API key in the argument, the key file or the environment (`API_KEY_MISSING`). */
export class ApiKeyError extends SessionKitError {
  constructor(message: string, options?: SessionKitErrorOptions) {
    super("API_KEY_MISSING", message, options);
  }
}

/** The server refused the credentials or answered a login with something else (`LOGIN_FAILED`). */
export class LoginFailedError extends SessionKitError {
  /** HTTP status of the login answer (0 when the answer was not HTTP-level, e.g. bad JSON). */
  readonly status: number;
  /** The service's machine-readable error name when it sent one (e.g. "AuthenticationRequired"). */
  readonly serverError: string | null;

  constructor(message: string, status = 0, serverError: string | null = null, options?: SessionKitErrorOptions) {
    super("LOGIN_FAILED", message, options);
    this.status = status;
    this.serverError = serverError;
  }
}

/**
 * The service limits logins (or refreshes) and said to wait (`RATE_LIMITED`). `retryAfterMs`
 * is how long to wait before trying again; the session refuses to try sooner on its own.
 */
export class RateLimitedError extends SessionKitError {
  readonly retryAfterMs: number;
  /** Epoch milliseconds at which a new attempt is allowed. */
  readonly retryAt: number;

  constructor(retryAfterMs: number, what = "login", options?: SessionKitErrorOptions) {
    const secs = Math.ceil(retryAfterMs / 1000);
    super("RATE_LIMITED", `The service rate-limits ${what}: retry in ${secs} s`, options);
    this.retryAfterMs = retryAfterMs;
    this.retryAt = Date.now() + retryAfterMs;
  }
}

/** The session cannot be refreshed any more; the application must log in again (`SESSION_EXPIRED`). */
export class SessionExpiredError extends SessionKitError {
  constructor(message = "The session expired and cannot be refreshed: log in again", options?: SessionKitErrorOptions) {
    super("SESSION_EXPIRED", message, options);
  }
}

/** An operation needs a session and there is none (`NOT_LOGGED_IN`). */
export class NotLoggedInError extends SessionKitError {
  constructor(message = "Not logged in: call login() first", options?: SessionKitErrorOptions) {
    super("NOT_LOGGED_IN", message, options);
  }
}

/** A session string could not be imported (`INVALID_SESSION_STRING`). Never quotes the string. */
export class InvalidSessionStringError extends SessionKitError {
  constructor(reason: string, options?: SessionKitErrorOptions) {
    super("INVALID_SESSION_STRING", `Invalid session string: ${reason}`, options);
  }
}

/**
 * Credentials would go to an endpoint that is not `https:` (`INSECURE_ENDPOINT`): a PDS
 * named by a DID document, a login or refresh answer, an imported session string, or the
 * configured service. Plain `http:` is accepted for loopback hosts only (development), as
 * in the atproto SDKs. `endpoint` is the refused origin (endpoints never carry userinfo).
 */
export class InsecureEndpointError extends SessionKitError {
  readonly endpoint: string;
  constructor(endpoint: string, where: string, options?: SessionKitErrorOptions) {
    super("INSECURE_ENDPOINT", `Refusing to send credentials to ${endpoint} (${where}): https is required except for loopback hosts`, options);
    this.endpoint = endpoint;
  }
}

// Things in server text that look like credentials: JWTs, long opaque tokens, key=value secrets.
const JWT_LIKE = /\b[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\b/g;
const LONG_TOKEN = /\b[A-Za-z0-9_\-+/=]{24,}\b/g;
const KV_SECRET = /((?:pass(?:word)?|token|jwt|secret|api[-_]?key|apikey|session|key)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi;

/**
 * Server-provided error text, shortened, without the secrets we sent (`secrets`: servers do
 * echo them, e.g. "no session with key …") and without anything else that looks secret.
 */
export function safeServerText(text: unknown, max = 200, secrets: ReadonlyArray<string | null | undefined> = []): string {
  if (typeof text !== "string") return "";
  let raw = text;
  for (const secret of secrets) if (secret) raw = raw.split(secret).join("[REDACTED]");
  const cleaned = raw
    .replace(/[\r\n\t\0]+/g, " ")
    .replace(JWT_LIKE, "[REDACTED]")
    .replace(LONG_TOKEN, "[REDACTED]")
    .replace(KV_SECRET, "$1[REDACTED]");
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned;
}

/** The service answered an API call with an error (`SERVICE_ERROR`), e.g. an XRPC error. */
export class ServiceError extends SessionKitError {
  readonly status: number;
  /** The service's machine-readable error name, when it sent one. */
  readonly serverError: string | null;

  constructor(message: string, status: number, serverError: string | null = null, options?: SessionKitErrorOptions) {
    super("SERVICE_ERROR", message, options);
    this.status = status;
    this.serverError = serverError;
  }
}

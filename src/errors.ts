/**
 * One error base for the whole library. Every error carries a stable `code` that
 * applications can switch on; `instanceof` works across duplicated copies of the package
 * because the check uses a `Symbol.for` brand (undici does the same in lib/core/errors.js).
 */
const kBrand = Symbol.for("sessionkit.error");

export interface SessionKitErrorOptions {
  cause?: unknown;
}

export class SessionKitError extends Error {
  /** Stable, machine-readable code, e.g. `TOO_MANY_REDIRECTS`. */
  readonly code: string;

  constructor(code: string, message: string, options?: SessionKitErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, kBrand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this === SessionKitError) {
      return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[kBrand] === true;
    }
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** The request was cancelled by an AbortSignal, `session.abort()` or `session.close()`. */
export class AbortError extends SessionKitError {
  constructor(message = "The request was aborted", options?: SessionKitErrorOptions) {
    super("ABORTED", message, options);
  }
}

/** The socket I/O timeout (`session.timeout`) elapsed. */
export class TimeoutError extends SessionKitError {
  constructor(message = "The request timed out", options?: SessionKitErrorOptions) {
    super("TIMEOUT", message, options);
  }
}

/** Redirect problems: `TOO_MANY_REDIRECTS`, `REDIRECT_NO_LOCATION`, `REDIRECT_BAD_URI`. */
export class RedirectError extends SessionKitError {}

/** Transport problems: `CONNECTION_FAILED`, `CONNECTION_RESET`, `TLS_FAILED`, `PROXY_FAILED`. */
export class NetworkError extends SessionKitError {}

/** A compressed body was corrupt or truncated (`DECODE_FAILED`). */
export class DecodeError extends SessionKitError {
  constructor(message: string, options?: SessionKitErrorOptions) {
    super("DECODE_FAILED", message, options);
  }
}

/** An option or argument was invalid (`INVALID_ARGUMENT`). Thrown synchronously. */
export class InvalidArgumentError extends SessionKitError {
  constructor(message: string, options?: SessionKitErrorOptions) {
    super("INVALID_ARGUMENT", message, options);
  }
}

/** The session was closed; no new requests are accepted (`SESSION_CLOSED`). */
export class SessionClosedError extends SessionKitError {
  constructor(message = "The session is closed") {
    super("SESSION_CLOSED", message);
  }
}

/** The request body cannot be sent again for a restart (`BODY_NOT_REPLAYABLE`). */
export class BodyNotReplayableError extends SessionKitError {
  constructor(message = "The request body is a stream and cannot be sent twice") {
    super("BODY_NOT_REPLAYABLE", message);
  }
}

/** The peer sent something that is not valid HTTP (`PROTOCOL_ERROR`), e.g. died mid-body. */
export class ProtocolError extends SessionKitError {}

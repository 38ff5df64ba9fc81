/**
 * One error base for the whole library. Every error carries a stable `code` that
 * applications can switch on; `instanceof` works across duplicated copies of the package
 * because the check uses a `Symbol.for` brand (undici does the same in lib/core/errors.js).
 */
const kBrands = Symbol.for("sessionkit.error.brands");

export interface SessionKitErrorOptions {
  cause?: unknown;
}

/** The class names from `ctor` up to SessionKitError: each error instance carries them as its brands. */
function brandsOf(ctor: Function): readonly string[] {
  const out: string[] = [];
  for (let c: Function | null = ctor; c !== null && c !== Function.prototype; c = Object.getPrototypeOf(c) as Function | null) {
    out.push(c.name);
    if (c === SessionKitError) break;
  }
  return out;
}

export class SessionKitError extends Error {
  /** Stable, machine-readable code, e.g. `TOO_MANY_REDIRECTS`. */
  readonly code: string;

  constructor(code: string, message: string, options?: SessionKitErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, kBrands, { value: brandsOf(new.target) });
  }

  /**
   * `instanceof` by brand, for this class and every subclass: an error thrown by another
   * copy of the package (two versions in one dependency tree) still matches, as undici's
   * errors do. The brand is the class name, so error class names are unique in the package.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    const brands = (value as Record<symbol, unknown>)[kBrands];
    if (Array.isArray(brands)) return brands.includes(this.name);
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

/** The peer sent something that is not valid HTTP (`PROTOCOL_ERROR`), e.g. died mid-body. */
export class ProtocolError extends SessionKitError {}

/**
 * A session feature's hook threw something that is not a sessionkit error
 * (`FEATURE_FAILED`). Names the feature and the hook; the original error is the `cause`.
 * Never reported as a network error: nothing went wrong on the wire.
 */
export class FeatureError extends SessionKitError {
  /** The feature's class name, e.g. "MyTokenFeature". */
  readonly feature: string;
  /** The hook that threw, e.g. "beforeSend". */
  readonly hook: string;
  constructor(feature: string, hook: string, options?: SessionKitErrorOptions) {
    const inner = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super("FEATURE_FAILED", `The session feature ${feature} failed in ${hook}: ${inner}`, options);
    this.feature = feature;
    this.hook = hook;
  }
}

/**
 * A session, cookie, HSTS or cache store could not be opened, read or written
 * (`STORE_UNAVAILABLE`). One class for every store in the package. `statusCode` is 503 so
 * Express and Fastify error handlers answer "Service Unavailable" without extra code.
 * Messages name the store or file, never a value or a session id.
 */
export class StoreUnavailableError extends SessionKitError {
  readonly statusCode = 503;
  constructor(message = "The store is unavailable", options?: SessionKitErrorOptions) {
    super("STORE_UNAVAILABLE", message, options);
  }
}

/**
 * Errors raised by the server half (middleware and stores). Each has a stable `code`.
 * None of them ever carries a session id or a secret in its message: ids are credentials.
 */
import { SessionKitError } from "../errors.js";

/**
 * The session store could not be reached or failed (`STORE_UNAVAILABLE`): the package's one
 * StoreUnavailableError (src/errors.ts), with `statusCode` 503.
 */
export { StoreUnavailableError } from "../errors.js";

/** A serialized `Set-Cookie` value would exceed 4096 bytes (`COOKIE_TOO_LARGE`). */
export class CookieTooLargeError extends SessionKitError {
  constructor(size: number) {
    super("COOKIE_TOO_LARGE", `The session cookie would be ${size} bytes; browsers drop cookies over 4096 bytes`);
  }
}

/** A value that is not JSON-safe was put into a session (`INVALID_SESSION_VALUE`). */
export class InvalidSessionValueError extends SessionKitError {
  constructor(message: string) {
    super("INVALID_SESSION_VALUE", message);
  }
}

/** `sessionData(request)` was called for a request the middleware never saw (`NO_SESSION`). */
export class NoSessionError extends SessionKitError {
  constructor() {
    super("NO_SESSION", "No session for this request: is the session middleware installed in front of this handler?");
  }
}

/** The store broke its contract, e.g. a create() collided with an existing id (`STORE_CONTRACT`). */
export class StoreContractError extends SessionKitError {
  constructor(message: string) {
    super("STORE_CONTRACT", message);
  }
}

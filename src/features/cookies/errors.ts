import { SessionKitError, type SessionKitErrorOptions } from "../../errors.js";

/**
 * A persistent cookie or HSTS store could not be opened, read or written
 * (`STORE_UNAVAILABLE`). Messages name the file, never a cookie value.
 */
export class StoreUnavailableError extends SessionKitError {
  constructor(message: string, options?: SessionKitErrorOptions) {
    super("STORE_UNAVAILABLE", message, options);
  }
}

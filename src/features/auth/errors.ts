/**
 * Errors raised by the auth feature. Messages never contain credentials, nonces or
 * Digest responses: only the scheme, realm and what went wrong.
 */
import { SessionKitError, type SessionKitErrorOptions } from "../../errors.js";

/**
 * `AUTH_RSPAUTH_MISMATCH`: the server's `Authentication-Info: rspauth` did not prove that
 * it knows the password (a possible impostor or a broken proxy); the response is rejected.
 * `AUTH_INVALID_SCHEME`: a class handed to `addSubFeature`/`useAuth` is not a usable Auth.
 */
export class AuthError extends SessionKitError {
  constructor(code: "AUTH_RSPAUTH_MISMATCH" | "AUTH_INVALID_SCHEME", message: string, options?: SessionKitErrorOptions) {
    super(code, message, options);
  }
}

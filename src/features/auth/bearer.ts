/**
 * Bearer tokens (RFC 6750). The token is supplied as the `password` of `authenticate()`
 * (the username is ignored). A token is a secret like a password but is scoped and
 * revocable, so Bearer ranks above Basic and below Digest (which never sends a secret).
 * The protection space is the challenged directory, as for Basic; use `useAuth()` with
 * the API's root URL to send the token to a whole API preemptively.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { Message } from "../../http/message.js";
import { Auth } from "./auth.js";

// RFC 6750 b64token, plus the characters some providers use in practice (no spaces/quotes).
const TOKEN = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]+$/;

export class AuthBearer extends Auth {
  static override readonly schemeName = "Bearer";
  static override readonly strength = 20;

  override authenticate(username: string, password: string): void {
    // Accept the token in either argument: `authenticate("", token)` is the documented form.
    const token = password !== "" ? password : username;
    if (typeof token !== "string" || !TOKEN.test(token)) {
      throw new InvalidArgumentError("A Bearer token must be a non-empty string of visible ASCII characters");
    }
    super.authenticate("", token);
  }

  override hasCredentials(username: string, password: string): boolean {
    return super.hasCredentials("", password !== "" ? password : username);
  }

  getAuthorization(_msg: Message): string | null {
    return this.isAuthenticated ? `Bearer ${this.password}` : null;
  }
}

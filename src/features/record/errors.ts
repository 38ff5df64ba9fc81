/** Errors of the record-and-replay features. */
import { SessionKitError, type SessionKitErrorOptions } from "../../errors.js";

/**
 * The Replayer holds no unused recorded exchange for this request (`REPLAY_NO_MATCH`). The
 * message names the method and the URL as redacted in the file, never a secret.
 */
export class ReplayNoMatchError extends SessionKitError {
  readonly method: string;
  /** The request URL, redacted as the Recorder redacts it. */
  readonly url: string;
  constructor(method: string, url: string, detail: string, options?: SessionKitErrorOptions) {
    super("REPLAY_NO_MATCH", `No recorded exchange left for ${method} ${url}${detail ? ` (${detail})` : ""}`, options);
    this.method = method;
    this.url = url;
  }
}

/** A HAR file that cannot be read or is not HAR 1.x (`HAR_INVALID`). */
export class HarFormatError extends SessionKitError {
  constructor(message: string, options?: SessionKitErrorOptions) {
    super("HAR_INVALID", message, options);
  }
}

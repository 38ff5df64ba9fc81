/**
 * Realtime errors. All extend the library's `SessionKitError`; the `code` is the close
 * reason's name where a close reason applies, so `err.code === "ACCESS_DENIED"` reads
 * the same as `session.closeReason.name === "ACCESS_DENIED"`.
 */
import { SessionKitError, type SessionKitErrorOptions } from "../errors.js";
import { CloseReason } from "./close-reason.js";

/** The session closed (or could not open) for `reason`. */
export class RealtimeSessionClosedError extends SessionKitError {
  readonly reason: CloseReason;
  constructor(reason: CloseReason, message: string = reason.message, options?: SessionKitErrorOptions) {
    super(reason.name, message, options);
    this.reason = reason;
  }
}

/** A request got no answer within its timeout (`REQUEST_TIMEOUT`). */
export class RequestTimeoutError extends SessionKitError {
  constructor(path: string, timeoutMs: number) {
    super("REQUEST_TIMEOUT", `No response to the request on "${path}" within ${timeoutMs} ms`);
  }
}

/**
 * The other side's handler failed or there was none (`NO_HANDLER`, `HANDLER_FAILED`).
 * Only the code and message cross the wire, never a stack.
 */
export class RemoteHandlerError extends SessionKitError {}

/** No live session with that id, on this node or (in a cluster) anywhere (`SESSION_NOT_FOUND`). */
export class SessionNotFoundError extends SessionKitError {
  constructor(sessionId: string) {
    super("SESSION_NOT_FOUND", `No session ${sessionId}`);
  }
}

/** A message was larger than the server accepts (`MESSAGE_TOO_LARGE`); nothing was sent. */
export class MessageTooLargeError extends SessionKitError {
  constructor(size: number, limit: number) {
    super("MESSAGE_TOO_LARGE", `The message is ${size} bytes; the limit is ${limit}`);
  }
}

/**
 * The server answered the WebSocket upgrade with an HTTP status instead of switching
 * protocols (a wrong path, a proxy, a load balancer): the session could not open
 * (`CONNECTION_ERROR`). The message says what the server answered, status and text.
 */
export class UpgradeRefusedError extends RealtimeSessionClosedError {
  /** `ws(s)://host:port/path` that was tried (no query, no user info). */
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  /** The start of the answer's body as text (at most 300 characters, control characters removed). */
  readonly body: string;
  constructor(url: string, answer: { status: number; statusText: string; body: string }, options?: SessionKitErrorOptions) {
    const text = answer.body ? `: ${answer.body}` : "";
    super(
      CloseReason.CONNECTION_ERROR,
      `The server at ${url} answered the WebSocket upgrade with ${answer.status} ${answer.statusText}`.trimEnd() + text,
      options,
    );
    this.url = url;
    this.status = answer.status;
    this.statusText = answer.statusText;
    this.body = answer.body;
  }
}

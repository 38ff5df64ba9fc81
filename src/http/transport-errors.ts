/**
 * Maps undici / socket errors to sessionkit's typed errors. The original error stays
 * reachable as `cause` for debugging; the message never includes request headers.
 */
import { AbortError, InvalidArgumentError, NetworkError, ProtocolError, SessionKitError, TimeoutError } from "../errors.js";
import { mapConnectError } from "./connector.js";

/**
 * `stage` says where the error happened: "request" (connecting, sending, waiting for the
 * headers) or "body" (reading a response body whose headers already arrived). A connection
 * that closes during the body means the body is incomplete (BODY_INCOMPLETE); before the
 * headers it is a reset connection (CONNECTION_RESET, which the session may retry).
 */
export function mapTransportError(err: unknown, stage: "request" | "body" = "request"): Error {
  if (err instanceof SessionKitError) return err;
  if (!(err instanceof Error)) return new NetworkError("CONNECTION_FAILED", String(err));
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (stage === "body" && (code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_CLOSED")) {
    return new ProtocolError("BODY_INCOMPLETE", "The connection closed before the response body was complete", { cause: err });
  }
  switch (code) {
    case "UND_ERR_HEADERS_TIMEOUT":
      return new TimeoutError("Timed out waiting for the response headers", { cause: err });
    case "UND_ERR_BODY_TIMEOUT":
      return new TimeoutError("Timed out waiting for the response body", { cause: err });
    case "UND_ERR_CONNECT_TIMEOUT":
      return new TimeoutError("Timed out connecting", { cause: err });
    case "UND_ERR_ABORTED":
    case "ABORT_ERR":
      return new AbortError(undefined, { cause: err });
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
    case "EPIPE":
      return new NetworkError("CONNECTION_RESET", "The connection was closed by the peer", { cause: err });
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
    case "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH":
      return new ProtocolError("BODY_INCOMPLETE", "The body ended before its Content-Length", { cause: err });
    case "UND_ERR_INFO":
    case "HPE_INVALID_CONSTANT":
      return new ProtocolError("PROTOCOL_ERROR", `Invalid HTTP from the peer: ${err.message}`, { cause: err });
    case "ERR_ASSERTION":
      // undici's HTTP/1.1 parser asserts on some impossible input (a status line "000"):
      // whatever the peer sent, it was not HTTP.
      return new ProtocolError("PROTOCOL_ERROR", "Invalid HTTP from the peer (malformed status line or framing)", { cause: err });
    case "UND_ERR_HEADERS_OVERFLOW":
      return new ProtocolError("PROTOCOL_ERROR", "The peer sent response headers larger than the limit", { cause: err });
    case "UND_ERR_INVALID_ARG":
    case "UND_ERR_NOT_SUPPORTED":
      // undici refused the request itself (e.g. an invalid header): the caller's input.
      return new InvalidArgumentError(`The request was refused before sending: ${err.message}`, { cause: err });
    case "UND_ERR_CLOSED":
    case "UND_ERR_DESTROYED":
      return new NetworkError("CONNECTION_RESET", "The connection was closed", { cause: err });
  }
  if (err.name === "AbortError") return new AbortError(undefined, { cause: err });
  // undici's HTTPParserError usually has no code at all (client-h1.js looks the llhttp error
  // number up in a name→number table, so `code` ends up undefined): match the name too.
  if (code.startsWith("HPE_") || err.name === "HTTPParserError") {
    return new ProtocolError("PROTOCOL_ERROR", `Invalid HTTP from the peer${code ? ` (${code})` : ""}: ${err.message}`, { cause: err });
  }
  return mapConnectError(err);
}

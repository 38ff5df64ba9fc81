/**
 * Why a realtime session closed: Diffusion's `CloseReason` list as a typed table. Each
 * reason has a stable numeric id and a name. On the wire a close is a WebSocket close
 * frame with code `4000 + id` and the name as the reason text, so both ends (and any
 * tool watching the socket) can tell them apart from plain transport closes.
 *
 * The ids are ours (Diffusion numbers its reasons per client library); the names follow
 * Diffusion's client and client-control reasons.
 */
export const CloseReason = {
  CLOSED_BY_CLIENT: { id: 0, name: "CLOSED_BY_CLIENT", message: "The session was closed by the client" },
  CLOSED_BY_CONTROLLER: { id: 1, name: "CLOSED_BY_CONTROLLER", message: "The session was closed by the server application" },
  SERVER_CLOSING: { id: 2, name: "SERVER_CLOSING", message: "The server is shutting down and does not keep sessions" },
  SESSION_NOT_FOUND: { id: 3, name: "SESSION_NOT_FOUND", message: "The session could not be found on the server" },
  CONNECTION_TIMEOUT: { id: 4, name: "CONNECTION_TIMEOUT", message: "The connection or reconnection attempt timed out" },
  HANDSHAKE_REJECTED: { id: 5, name: "HANDSHAKE_REJECTED", message: "The server rejected the handshake (bad version, forged or invalid properties)" },
  HANDSHAKE_ERROR: { id: 6, name: "HANDSHAKE_ERROR", message: "The handshake could not be understood" },
  TRANSPORT_ERROR: { id: 7, name: "TRANSPORT_ERROR", message: "The connection was lost and could not be recovered" },
  CONNECTION_ERROR: { id: 8, name: "CONNECTION_ERROR", message: "The connection to the server could not be opened" },
  IDLE_CONNECTION: { id: 9, name: "IDLE_CONNECTION", message: "No heartbeat was received within two ping periods" },
  LOST_MESSAGES: { id: 10, name: "LOST_MESSAGES", message: "Messages were lost: the session cannot be resumed without a gap" },
  ACCESS_DENIED: { id: 11, name: "ACCESS_DENIED", message: "The authenticator rejected the principal or credentials" },
  MESSAGE_QUEUE_LIMIT_REACHED: { id: 12, name: "MESSAGE_QUEUE_LIMIT_REACHED", message: "The queue of unacknowledged messages exceeded its limit" },
  MESSAGE_TOO_LARGE: { id: 13, name: "MESSAGE_TOO_LARGE", message: "A frame exceeded the maximum message size" },
  INVALID_MESSAGE: { id: 14, name: "INVALID_MESSAGE", message: "A frame was not a valid protocol message" },
  INTERNAL_ERROR: { id: 15, name: "INTERNAL_ERROR", message: "An internal error occurred" },
  // Ours, beyond Diffusion's list:
  TOO_MANY_SESSIONS: {
    id: 16,
    name: "TOO_MANY_SESSIONS",
    message: "The server holds as many sessions (or handshakes) as it allows, in all or from this address; try again later",
  },
  VALUE_TOO_DEEP: { id: 17, name: "VALUE_TOO_DEEP", message: "A frame carried a value nested deeper than the receiver accepts" },
  AUTHENTICATION_REVOKED: {
    id: 18,
    name: "AUTHENTICATION_REVOKED",
    message: "The HTTP session the realtime session was bound to ended (logout, regenerate or revocation)",
  },
} as const;

export type CloseReasonName = keyof typeof CloseReason;
export type CloseReason = (typeof CloseReason)[CloseReasonName];

/** WebSocket close codes 4000–4999 are reserved for applications; ours are 4000 + id. */
export const CLOSE_CODE_BASE = 4000;

export function closeCodeOf(reason: CloseReason): number {
  return CLOSE_CODE_BASE + reason.id;
}

const byId = new Map<number, CloseReason>(Object.values(CloseReason).map((r) => [r.id, r]));

/** The reason carried by a WebSocket close code, or undefined for a plain transport close. */
export function closeReasonFromCode(code: number): CloseReason | undefined {
  return code >= CLOSE_CODE_BASE && code < CLOSE_CODE_BASE + 1000 ? byId.get(code - CLOSE_CODE_BASE) : undefined;
}

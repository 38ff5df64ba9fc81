/**
 * `sessionkit/realtime`: Diffusion-style realtime sessions over WebSocket, client and
 * server, with recovery after dropped sockets and an optional Redis cluster.
 */
export { RealtimeSession } from "./session.js";
export type { RealtimeSessionOptions, RealtimeSessionEvents, SessionState, PingDetails } from "./session.js";
export { RealtimeServer } from "./server.js";
export type { RealtimeServerOptions, RealtimeServerEvents, ServerHandler } from "./server.js";
export { ServerSession } from "./server-session.js";
export type { ServerSessionState } from "./server-session.js";
export type { Authenticator, AuthenticationResult } from "./server-handshake.js";
export { Credentials } from "./credentials.js";
export type { CredentialsType } from "./credentials.js";
export { CloseReason, closeCodeOf, closeReasonFromCode } from "./close-reason.js";
export type { CloseReasonName } from "./close-reason.js";
export { FIXED_PROPERTIES } from "./properties.js";
export type { SessionProperties, SessionFilter } from "./properties.js";
export { compileFilter, parseFilter, quoteFilterValue, InvalidFilterError, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH } from "./filter.js";
export type { FilterPredicate, FilterNode } from "./filter.js";
export { PROTOCOL_VERSION, SUBPROTOCOL } from "./protocol.js";
export type { Value, JsonValue } from "./protocol.js";
export { backoff } from "./reconnect.js";
export type { ReconnectOptions, ReconnectStrategy } from "./reconnect.js";
export { createRedisCluster } from "./cluster.js";
export type { ClusterBackplane, RedisClusterOptions } from "./cluster.js";
export {
  RealtimeSessionClosedError,
  RequestTimeoutError,
  RemoteHandlerError,
  SessionNotFoundError,
  MessageTooLargeError,
  UpgradeRefusedError,
} from "./errors.js";
export { InvalidValueError, DEFAULT_MAX_VALUE_DEPTH } from "./protocol.js";
export { httpSessionRef } from "./server-http-session.js";
export type { HttpSessionSource, HttpSessionInfo, HttpSessionEnded, HttpSessionEndReason } from "./server-http-session.js";

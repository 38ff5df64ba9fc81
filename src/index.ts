/**
 * sessionkit — the root entry point: the HTTP client Session, Message, the feature
 * contract and the built-in client features. Server middleware, realtime sessions,
 * credential sessions and the SQLite/Redis stores have their own entry points
 * (`sessionkit/server`, `sessionkit/realtime`, `sessionkit/login`, `sessionkit/stores/*`).
 */
export * from "./errors.js";
export { VERSION } from "./version.js";
export { Session } from "./http/session.js";
export { RetryAfterTooLongError } from "./http/retry.js";
export { ResponseTooLargeError } from "./http/meter.js";
export type { DownloadProgress, UploadProgress } from "./http/meter.js";
export type { RetryOptions } from "./http/retry.js";
export { channels as diagnosticsChannels } from "./http/diagnostics.js";
export type { RestartReason, MessageEventPayload } from "./http/diagnostics.js";
export type { SessionEvents, SendOptions, SpliceOptions, SessionOptions, TlsDatabase, TlsInteraction } from "./http/session.js";
export { Message, MessageFlags, MessagePriority, emptyMetrics, redactUrl } from "./http/message.js";
export type { MessageFlag, MessagePriorityValue, MessageMetrics, MessageEvents, RequestBodyInit, SniffedType } from "./http/message.js";
export { MessageHeaders } from "./http/headers.js";
export type { HeadersInit } from "./http/headers.js";
export { ResponseBody } from "./http/body.js";
export type { FetchInput, FetchInit, FetchCacheMode, FetchHeadersInit, FetchBodyInit, SessionFetch } from "./http/fetch-types.js";
export { FeatureOrder, assertSessionFeature } from "./http/feature.js";
export type { SessionFeature, SessionFeatureClass, SyntheticResponse, GotHeadersResult } from "./http/feature.js";
export type { AuthenticateRequest, AuthChallengeInfo } from "./http/authenticate.js";
export { envProxyResolver, proxyResolverFromEnv, directResolver, matchesNoProxy } from "./http/proxy.js";
export type { ProxyResolver } from "./http/proxy.js";
export { ProxyConnectError } from "./http/connector.js";
export { WebsocketConnection } from "./http/websocket-connection.js";
export type { WebsocketState, WebsocketConnectionEvents } from "./http/websocket-connection.js";
export { WebsocketError } from "./http/websocket.js";
export type { WebsocketConnectOptions } from "./http/websocket.js";
export { acceptLanguageFromLocale, resolveUserAgent, DEFAULT_USER_AGENT } from "./http/defaults.js";
export { ContentDecoder, SUPPORTED_ENCODINGS } from "./features/content-decoder.js";
export { Logger, LoggerLogLevel, redactHeaderValue, redactBody } from "./features/logger.js";
export type { LoggerOptions, LoggerPrinter, LoggerFilter, LoggerLogLevelValue } from "./features/logger.js";
// The client features of libsoup (SessionFeature classes). AuthManager is on by default;
// the SQLite-backed classes load the optional better-sqlite3 only when opened.
export * from "./features/auth/index.js";
export * from "./features/cookies/index.js";
export * from "./features/hsts/index.js";
export * from "./features/sniffer/index.js";
export * from "./features/cache/index.js";
export * from "./features/record/index.js";

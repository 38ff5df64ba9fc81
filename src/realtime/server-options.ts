/** RealtimeServer's options, their defaults and checks, and its events. */
import type { IncomingMessage } from "node:http";
import { InvalidArgumentError } from "../errors.js";
import type { CloseReason } from "./close-reason.js";
import type { ClusterBackplane, RedisClusterOptions } from "./cluster.js";
import type { Value } from "./protocol.js";
import type { Authenticator } from "./server-handshake.js";
import { isHttpSessionSource, type HttpSessionSource } from "./server-http-session.js";
import type { ServerSession } from "./server-session.js";

export type ServerHandler = (value: Value, session: ServerSession) => unknown;

export interface RealtimeServerOptions {
  /** Only upgrades to this path are taken; others are left to other listeners. @default "/realtime" */
  path?: string;
  authenticator?: Authenticator;
  /** How long a disconnected session waits for its client to resume it (ms). @default 60000 */
  keepAlive?: number;
  /** Ping period the clients are told to use; a socket silent for two periods is dropped (ms). @default 10000 */
  pingPeriod?: number;
  /** Time allowed between the upgrade and a valid hello or resume (ms). @default 10000 */
  handshakeTimeout?: number;
  /** Largest frame accepted from a client, in bytes. @default 1048576 */
  maxMessageSize?: number;
  /** Unacknowledged frames kept per session for replay. @default 10000 */
  replayBufferSize?: number;
  /**
   * Most bytes a session's socket may hold unsent (ws `bufferedAmount`: written by the
   * server, not yet taken by the network) when the server sends it something more. A
   * client that reads too slowly to keep under it is closed with
   * MESSAGE_QUEUE_LIMIT_REACHED instead of letting the server's memory grow without
   * limit. `Infinity` turns the check off. @default 4194304 (4 MiB)
   */
  maxQueuedBytes?: number;
  /** Share sessions between nodes through Redis (see docs/realtime.md, "Cluster (Redis)"). */
  cluster?: RedisClusterOptions | ClusterBackplane;
  /**
   * Deepest nesting of arrays and objects accepted in a value from a client. A deeper one
   * closes the session with VALUE_TOO_DEEP before it is even parsed, so no handler, echo
   * or encoder ever recurses without limit. @default 64
   */
  maxValueDepth?: number;
  /**
   * Most sessions this node holds (connected, or disconnected and waiting to be resumed).
   * A new session beyond it is refused with TOO_MANY_SESSIONS; resumes are not refused by
   * it (those sessions were admitted already). `Infinity` turns it off. @default 50000
   */
  maxSessions?: number;
  /**
   * Most sessions this node holds from one client address (IPv6: one /64), checked for
   * servers that let anyone in (no `authenticator` and no `httpSessions`); with either of
   * those the application decides who may open sessions. Behind a reverse proxy, set
   * `clientAddress` or every client shares the proxy's address. @default 1000
   */
  maxSessionsPerAddress?: number;
  /** Most sockets at once between the upgrade and a valid hello or resume. @default 1000 */
  maxPendingHandshakes?: number;
  /** Most such sockets from one client address. @default 50 */
  maxPendingPerAddress?: number;
  /**
   * How long a disconnected session that has never sent a message waits to be resumed
   * (ms), instead of `keepAlive`: sessions opened and dropped by a flood go quickly, while
   * clients that talk keep the full window. @default 10000 (or keepAlive when shorter)
   */
  silentKeepAlive?: number;
  /**
   * The client's address as the limits and `$ClientIP` see it. Behind a reverse proxy,
   * read the header the proxy sets (and only when the request came from the proxy).
   * @default the socket's remote address
   */
  clientAddress?: (req: IncomingMessage) => string;
  /**
   * Authenticate upgrades from the `sessionkit/server` session cookie: pass the
   * `sessionMiddleware(...)` (or anything with its `readSession` and `onSessionEnded`).
   * An upgrade without a live server session is refused with ACCESS_DENIED; the realtime
   * session gets `$HttpSession` (`httpSessionRef(id)`: a digest, the id is a credential)
   * and `$Owner`, and closes with AUTHENTICATION_REVOKED when that server session ends.
   */
  httpSessions?: HttpSessionSource;
}

export interface RealtimeServerEvents {
  "session-opened": [session: ServerSession];
  "session-closed": [session: ServerSession, reason: CloseReason];
  "session-disconnected": [session: ServerSession];
  "session-resumed": [session: ServerSession];
  /** A handler, the authenticator or the cluster failed; the server carries on. */
  "handler-error": [error: Error, session: ServerSession | undefined];
}

export const defaults = {
  path: "/realtime",
  maxValueDepth: 64,
  maxSessions: 50_000,
  maxSessionsPerAddress: 1_000,
  maxPendingHandshakes: 1_000,
  maxPendingPerAddress: 50,
  silentKeepAlive: 10_000,
  keepAlive: 60_000,
  pingPeriod: 10_000,
  handshakeTimeout: 10_000,
  maxMessageSize: 1024 * 1024,
  replayBufferSize: 10_000,
  maxQueuedBytes: 4 * 1024 * 1024,
};

export type ResolvedServerOptions = typeof defaults &
  Pick<RealtimeServerOptions, "authenticator" | "httpSessions"> & { clientAddress: (req: IncomingMessage) => string };

const socketAddress = (req: IncomingMessage): string => req.socket.remoteAddress ?? "";

export function resolveServerOptions(options: RealtimeServerOptions): ResolvedServerOptions {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("RealtimeServer options must be an object");
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RealtimeServerOptions;
  const resolved: ResolvedServerOptions = { ...defaults, clientAddress: socketAddress, ...defined };
  for (const k of [
    "keepAlive",
    "pingPeriod",
    "handshakeTimeout",
    "maxMessageSize",
    "replayBufferSize",
    "maxQueuedBytes",
    "maxValueDepth",
    "maxSessions",
    "maxSessionsPerAddress",
    "maxPendingHandshakes",
    "maxPendingPerAddress",
    "silentKeepAlive",
  ] as const) {
    const v = resolved[k];
    if (typeof v !== "number" || !(v > 0)) throw new InvalidArgumentError(`options.${k} must be a positive number`);
  }
  if (!Number.isInteger(resolved.maxValueDepth)) throw new InvalidArgumentError("options.maxValueDepth must be a positive integer");
  // A session that never spoke is never kept longer than one that did.
  resolved.silentKeepAlive = Math.min(resolved.silentKeepAlive, resolved.keepAlive);
  if (typeof resolved.clientAddress !== "function") throw new InvalidArgumentError("options.clientAddress must be a function (req) => string");
  if (resolved.httpSessions !== undefined && !isHttpSessionSource(resolved.httpSessions)) {
    throw new InvalidArgumentError(
      "options.httpSessions must have readSession(cookieHeader) and onSessionEnded(listener), as sessionMiddleware(...) does",
    );
  }
  if (typeof resolved.path !== "string" || !resolved.path.startsWith("/")) throw new InvalidArgumentError("options.path must start with '/'");
  if (resolved.authenticator !== undefined && typeof resolved.authenticator !== "function") {
    throw new InvalidArgumentError("options.authenticator must be a function");
  }
  return resolved;
}

/** RealtimeServer's options, their defaults and checks, and its events. */
import { InvalidArgumentError } from "../errors.js";
import type { CloseReason } from "./close-reason.js";
import type { ClusterBackplane, RedisClusterOptions } from "./cluster.js";
import type { Value } from "./protocol.js";
import type { Authenticator } from "./server-handshake.js";
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
  /** Share sessions between nodes through Redis (see the README, "Realtime sessions"). */
  cluster?: RedisClusterOptions | ClusterBackplane;
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
  keepAlive: 60_000,
  pingPeriod: 10_000,
  handshakeTimeout: 10_000,
  maxMessageSize: 1024 * 1024,
  replayBufferSize: 10_000,
  maxQueuedBytes: 4 * 1024 * 1024,
};

export type ResolvedServerOptions = typeof defaults & Pick<RealtimeServerOptions, "authenticator">;

export function resolveServerOptions(options: RealtimeServerOptions): ResolvedServerOptions {
  if (typeof options !== "object" || options === null) throw new InvalidArgumentError("RealtimeServer options must be an object");
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as RealtimeServerOptions;
  const resolved: ResolvedServerOptions = { ...defaults, ...defined };
  for (const k of ["keepAlive", "pingPeriod", "handshakeTimeout", "maxMessageSize", "replayBufferSize", "maxQueuedBytes"] as const) {
    const v = resolved[k];
    if (typeof v !== "number" || !(v > 0)) throw new InvalidArgumentError(`options.${k} must be a positive number`);
  }
  if (typeof resolved.path !== "string" || !resolved.path.startsWith("/")) throw new InvalidArgumentError("options.path must start with '/'");
  if (resolved.authenticator !== undefined && typeof resolved.authenticator !== "function") {
    throw new InvalidArgumentError("options.authenticator must be a function");
  }
  return resolved;
}

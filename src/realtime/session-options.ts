/** RealtimeSession's options, states, events and ping result. */
import type { Session } from "../http/session.js";
import type { CloseReason } from "./close-reason.js";
import type { Credentials } from "./credentials.js";
import type { SessionProperties } from "./properties.js";
import type { ReconnectOptions } from "./reconnect.js";

export type SessionState = "CONNECTING" | "CONNECTED_ACTIVE" | "RECOVERING_RECONNECT" | "CLOSED_BY_CLIENT" | "CLOSED_BY_SERVER" | "CLOSED_FAILED";

export interface RealtimeSessionOptions {
  /** @default "" (anonymous) */
  principal?: string;
  credentials?: Credentials | string | Uint8Array | null;
  properties?: SessionProperties;
  /** `false` disables recovery; a number is the reconnect timeout in ms. @default { timeout: 60000 } */
  reconnect?: boolean | number | ReconnectOptions;
  /** Time allowed for one connection attempt, socket and handshake (ms). @default 10000 */
  connectTimeout?: number;
  /** Default timeout of `request()` (ms). @default 30000 */
  requestTimeout?: number;
  /** Unacknowledged messages kept for replay after a reconnect. @default 10000 */
  replayBufferSize?: number;
  /** Deepest nesting of arrays and objects accepted in a value from the server (deeper: VALUE_TOO_DEEP). @default 64 */
  maxValueDepth?: number;
  /** The HTTP session the WebSocket upgrade goes through. @default a private one */
  httpSession?: Session;
}

export interface PingDetails {
  /** Date.now() when the ping was sent. */
  timestamp: number;
  /** Round-trip time in ms. */
  rtt: number;
}

export interface RealtimeSessionEvents {
  state: [state: SessionState, previous: SessionState];
  connected: [];
  disconnected: [];
  recovered: [];
  closed: [reason: CloseReason];
  /** A message handler threw; the session carries on. */
  "handler-error": [error: Error, path: string];
}

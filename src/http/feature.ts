/**
 * The feature contract (libsoup's SoupSessionFeature). A feature is a small object with
 * optional hooks that the session calls at fixed points of a message's life:
 *
 *   send(msg) ─ requestQueued ─┬─ beforeSend ─ [attempt: network round trip, WebSocket
 *                              │               handshake, or synthetic response] ─ gotHeaders ─┐
 *                              │                                   (wantsBody ─ inspectBody) ──┤
 *                              └──────────────── restarted ◄── (redirect / 'restart') ◄───────┘
 *                                      wrapBody ─ (caller reads body) ─ gotBody ─ requestUnqueued
 *
 * Every way of sending (send, sendAndRead, sendAndSplice, fetch, preconnect's successor
 * request, websocketConnect) runs this same sequence in the session's one message runner
 * (runner.ts), so a feature written once applies to all of them.
 *
 * Ordering: the session is the only place that orders features. Request-side hooks
 * (`requestQueued`, `beforeSend`) run in ascending `order`; response-side hooks
 * (`gotHeaders`, `wrapBody`, `gotBody`) run in the same ascending order, so a feature with a
 * lower order sees the raw response first (e.g. Cache stores the encoded body before
 * ContentDecoder decodes it, ContentDecoder decodes before ContentSniffer sniffs).
 * A feature never calls another feature.
 */
import type { Readable } from "node:stream";
import type { MessageHeaders } from "./headers.js";
import type { Message } from "./message.js";
import type { Session } from "./session.js";

/** Suggested `order` values for the built-in features (lower runs first). */
export const FeatureOrder = {
  HSTS: 10, // rewrites http:// to https:// before anything looks at the URL
  CACHE: 20, // may answer without the network; stores raw (encoded) bodies
  COOKIES: 30,
  AUTH: 40,
  LOGIN: 45, // credential sessions (sessionkit/login)
  DECODER: 50,
  SNIFFER: 60,
  DEFAULT: 70,
  LOGGER: 100, // sees the final request headers and the response as the caller gets it
} as const;

/** A response produced without the network (e.g. by the Cache feature). */
export interface SyntheticResponse {
  status: number;
  reasonPhrase?: string;
  headers: MessageHeaders;
  body: Uint8Array | Readable;
}

/** What `gotHeaders` may return: `"restart"` resends the message (e.g. with credentials). */
export type GotHeadersResult = void | "restart";

export interface SessionFeature {
  /** Position in the feature order; see FeatureOrder. @default FeatureOrder.DEFAULT */
  readonly order?: number;
  /** Called when added to a session. A feature may be attached to one session only. */
  attach?(session: Session): void;
  /** Called when removed from the session or when the session closes. */
  detach?(session: Session): void;
  /** Once per message, when it enters the session's queue. */
  requestQueued?(msg: Message, session: Session): void;
  /**
   * Before every send attempt, including after each restart. May change `msg.url` (HSTS),
   * set request headers (auth, cookies), or return a SyntheticResponse to answer without the
   * network (cache): then no later feature's beforeSend runs and no connection is used.
   */
  beforeSend?(msg: Message, session: Session): void | SyntheticResponse | Promise<void | SyntheticResponse>;
  /**
   * Response headers are in (`msg.status`, `msg.responseHeaders`). Return "restart" to have
   * the session discard this response and send the message again (auth on 401/407).
   */
  gotHeaders?(msg: Message, session: Session): GotHeadersResult | Promise<GotHeadersResult>;
  /**
   * The bounded body hook. After gotHeaders, for a response the session would hand to the
   * caller, return how many bytes of its body this feature wants to see (0 or nothing:
   * none). When the body is at most that long, the session reads it and calls
   * `inspectBody`; a longer body is not inspected and streams to the caller untouched.
   * Ask only for responses that may matter (e.g. a 400 with `application/json`): reading a
   * body first costs the caller its streaming.
   */
  wantsBody?(msg: Message, session: Session): number | void;
  /**
   * The whole body of a response `wantsBody` asked for (the way ky's `afterResponse` can
   * retry). Return "restart" to have the session send the message again (a credential
   * session's "token expired" in a JSON body); otherwise the caller gets these bytes.
   */
  inspectBody?(msg: Message, body: Uint8Array, session: Session): GotHeadersResult | Promise<GotHeadersResult>;
  /**
   * Wraps the response body stream, e.g. to decode it, peek at it or copy it. Only called for
   * the final response (not for responses that lead to a restart or redirect). Must return a
   * stream that yields the body the next feature (and finally the caller) sees.
   */
  wrapBody?(msg: Message, body: Readable, session: Session): Readable | Promise<Readable>;
  /** The caller finished reading the body (not called when it failed or was cancelled). */
  gotBody?(msg: Message, session: Session): void;
  /** The message is about to be resent (redirect or "restart"). */
  restarted?(msg: Message, session: Session): void;
  /** A send attempt failed at the transport level (TLS, connection, timeout). */
  failed?(msg: Message, error: Error, session: Session): void;
  /** Once per message, when it leaves the queue (done, failed or cancelled). */
  requestUnqueued?(msg: Message, session: Session): void;
  /** Sub-features (libsoup's add_feature_by_type on a feature, e.g. auth schemes). */
  addSubFeature?(type: SessionFeatureClass): boolean;
  removeSubFeature?(type: SessionFeatureClass): boolean;
  hasSubFeature?(type: SessionFeatureClass): boolean;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SessionFeatureClass<T extends object = object> = abstract new (...args: any[]) => T;

const HOOKS = [
  "attach",
  "detach",
  "requestQueued",
  "beforeSend",
  "gotHeaders",
  "wantsBody",
  "inspectBody",
  "wrapBody",
  "gotBody",
  "restarted",
  "failed",
  "requestUnqueued",
] as const;

/**
 * Refuses a malformed feature early (undici's compose() does the same), so a mistake shows
 * up at addFeature() instead of deep inside a request.
 */
export function assertSessionFeature(feature: unknown): asserts feature is SessionFeature {
  if (typeof feature !== "object" || feature === null) {
    throw new TypeError("A session feature must be an object");
  }
  const f = feature as Record<string, unknown>;
  let hasHook = false;
  for (const hook of HOOKS) {
    if (f[hook] === undefined) continue;
    if (typeof f[hook] !== "function") throw new TypeError(`Session feature hook "${hook}" must be a function`);
    hasHook = true;
  }
  if (!hasHook && typeof f.addSubFeature !== "function") {
    throw new TypeError("A session feature must implement at least one hook (beforeSend, gotHeaders, …)");
  }
  if (f.order !== undefined && (typeof f.order !== "number" || !Number.isFinite(f.order))) {
    throw new TypeError("Session feature `order` must be a finite number");
  }
}

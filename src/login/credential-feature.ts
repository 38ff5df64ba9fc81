/**
 * The session feature a CredentialSession installs (order FeatureOrder.LOGIN). It is an
 * ordinary feature on the session's runner hooks, with no send path of its own, so every
 * way of sending through the HTTP session (`http.send`, `sendAndRead`, `sendAndSplice`,
 * `fetch`, `websocketConnect`, and the credential session's own shortcuts to them) gets
 * the same treatment. It is thin on purpose: it asks the controller (the CredentialSession)
 * for usable credentials before each attempt, and on a "token expired" answer marks the
 * message and restarts it, once:
 *
 * - seen in the headers (gotHeaders), or
 * - seen only in a small body (atproto's 400 `{"error":"ExpiredToken"}`, astrometry.net's
 *   200 `{"status":"error"}`): the runner's bounded body hook (wantsBody / inspectBody) lets
 *   the feature read up to `maxInspect` bytes of a response the profile says may say so.
 *
 * Why gotHeaders does not refresh by itself: it runs while the response still holds its
 * connection. With 1,000 requests in gotHeaders and `maxConnsPerHost: 2`, a refresh call
 * issued from there could never get a connection. So gotHeaders only returns "restart"; the
 * session drains the response (freeing the connection), and the refresh happens in the next
 * `beforeSend`, where no request holds a connection yet.
 */
import { FeatureOrder, type GotHeadersResult, type SessionFeature } from "../http/feature.js";
import type { MessageHeaders } from "../http/headers.js";
import type { Message } from "../http/message.js";

/** Per-message bookkeeping, kept across restarts. */
export interface MessageTag {
  /** Credential generation this message last went out with (-1: sent without credentials). */
  sentGen: number;
  /** The message was already retried once for an expired token. */
  retried: boolean;
  /** Renew the generation `sentGen` before the next attempt (set on an expired answer). */
  renewFor: number | null;
  /** The origin the credentials were put on, so a retry there stays ours even if scope changed. */
  origin: string | null;
}

/** What the feature needs from the CredentialSession. */
export interface CredentialController {
  inScope(url: URL): boolean;
  /**
   * Waits for any refresh/login, renews if due, applies credentials, and records in `tag`
   * the generation used and `origin`. Synchronous when nothing had to wait; otherwise the
   * promise is handed to the session as it is (no extra hop per waiting request).
   */
  prepare(msg: Message, tag: MessageTag, origin: string): void | Promise<void>;
  expiredByHeaders(status: number, headers: MessageHeaders): boolean;
  /** Largest body to look at for `expiredByBody` (0: never look at bodies). */
  readonly maxInspect: number;
  /** Whether this response may say "expired" only in its body (the profile's inspectBody). */
  inspectBody(status: number, headers: MessageHeaders): boolean;
  /** Body verdict on the parsed JSON (null when not JSON). */
  expiredByBody(status: number, headers: MessageHeaders, json: unknown): boolean;
  /** Once per message as it is queued: lets the controller start a refresh that is due. */
  queued(msg: Message): void;
}

export class CredentialFeature implements SessionFeature {
  readonly order = FeatureOrder.LOGIN;
  readonly #controller: CredentialController;
  readonly #tags = new WeakMap<Message, MessageTag>();

  constructor(controller: CredentialController) {
    // Refuse early (e.g. `addFeatureByType(CredentialFeature)`): this feature only works
    // as installed by a CredentialSession, which is its controller.
    if (typeof controller !== "object" || controller === null || typeof controller.prepare !== "function") {
      throw new TypeError("CredentialFeature is installed by a CredentialSession (new AtprotoSession(), new ApiKeySession(), …), not on its own");
    }
    this.#controller = controller;
  }

  /** The tag of `msg`, created on first use. */
  tag(msg: Message): MessageTag {
    let t = this.#tags.get(msg);
    if (t === undefined) {
      t = { sentGen: -1, retried: false, renewFor: null, origin: null };
      this.#tags.set(msg, t);
    }
    return t;
  }

  peekTag(msg: Message): MessageTag | undefined {
    return this.#tags.get(msg);
  }

  requestQueued(msg: Message): void {
    this.#controller.queued(msg);
  }

  beforeSend(msg: Message): void | Promise<void> {
    const known = this.#tags.get(msg);
    // A message we already gave credentials stays ours on its origin even when the scope
    // went away meanwhile (the session expired): prepare() then says why it cannot go out,
    // instead of the message leaving with the stale credentials still on it.
    const ours = this.#controller.inScope(msg.url) || (known !== undefined && known.sentGen >= 0 && known.origin === msg.url.origin);
    if (!ours) {
      // A redirect may leave the service: never carry our credentials elsewhere.
      if (known !== undefined) known.sentGen = -1;
      return;
    }
    return this.#controller.prepare(msg, known ?? this.tag(msg), msg.url.origin);
  }

  gotHeaders(msg: Message): GotHeadersResult {
    const tag = this.#retryable(msg);
    if (tag === null || !this.#controller.expiredByHeaders(msg.status, msg.responseHeaders)) return;
    return this.#restartFor(tag);
  }

  wantsBody(msg: Message): number | void {
    const c = this.#controller;
    if (c.maxInspect === 0 || this.#retryable(msg) === null) return;
    if (c.inspectBody(msg.status, msg.responseHeaders)) return c.maxInspect;
  }

  inspectBody(msg: Message, body: Uint8Array): GotHeadersResult {
    const tag = this.#retryable(msg);
    if (tag === null || !this.#controller.expiredByBody(msg.status, msg.responseHeaders, parseJson(body))) return;
    return this.#restartFor(tag);
  }

  /** The tag of a message that went out with our credentials and may still be retried. */
  #retryable(msg: Message): MessageTag | null {
    const tag = this.#tags.get(msg);
    // Exactly one retry, and only when the body can be sent again.
    if (tag === undefined || tag.sentGen < 0 || tag.retried || !msg.bodyReplayable) return null;
    return tag;
  }

  #restartFor(tag: MessageTag): "restart" {
    tag.retried = true;
    tag.renewFor = tag.sentGen;
    return "restart";
  }
}

/** The body parsed as JSON, or null when it is not JSON. */
export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    return null;
  }
}

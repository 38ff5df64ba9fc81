/**
 * The session feature a CredentialSession installs (order FeatureOrder.LOGIN). It is thin
 * on purpose: it asks the controller (the CredentialSession) for usable credentials before
 * each attempt, and on a header-visible "token expired" marks the message and restarts it.
 *
 * Why gotHeaders does not refresh by itself: it runs while the response still holds its
 * connection. With 1,000 requests in gotHeaders and `maxConnsPerHost: 2`, a refresh call
 * issued from there could never get a connection. So gotHeaders only returns "restart"; the
 * session drains the response (freeing the connection), and the refresh happens in the next
 * `beforeSend`, where no request holds a connection yet.
 */
import { FeatureOrder, type SessionFeature } from "../http/feature.js";
import type { MessageHeaders } from "../http/headers.js";
import type { Message } from "../http/message.js";

/** Per-message bookkeeping, kept across restarts and the wrapper's one retry. */
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

  gotHeaders(msg: Message): void | "restart" {
    const tag = this.#tags.get(msg);
    if (tag === undefined || tag.sentGen < 0 || tag.retried) return;
    if (!this.#controller.expiredByHeaders(msg.status, msg.responseHeaders)) return;
    // Exactly one retry, and only when the body can be sent again.
    if (!msg.bodyReplayable) return;
    tag.retried = true;
    tag.renewFor = tag.sentGen;
    return "restart";
  }
}

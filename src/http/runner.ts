/**
 * The message runner: the one loop that drives every attempt of every message a Session
 * sends. `send`, `sendAndRead`, `sendAndSplice`, `fetch` and `websocketConnect` all come
 * here, and so do a credential session's requests (its feature is an ordinary feature on
 * these hooks) and its login and refresh calls. There is no second copy of this loop.
 *
 *   queued ─┬─ default headers ─ beforeSend ─ attempt ─ gotHeaders ─┬─ restart / redirect ─┐
 *           │                       (HTTP round trip, WebSocket     │                      │
 *           │                        handshake, synthetic answer)   └─ bounded body hook ──┤
 *           └─────────────────────────────────── restarted ◄──────────────────────────────┘
 *           final: wrapBody ─ caller reads ─ gotBody ─ unqueued
 *
 * The rules are libsoup's and hold for every kind of attempt: NO_REDIRECT hands a 3xx to
 * the caller; more than MAX_RESTARTS restarts is RedirectError TOO_MANY_REDIRECTS; a hook
 * that throws fails the message with its own typed error (FeatureError for a feature's
 * plain exception), never a network error; hooks that run after the fact (gotBody, failed,
 * unqueued) cannot break the caller.
 *
 * The runner never sees a connection: the transport ties each connection's release to
 * the body it returned (transport.ts), before any feature touches that body.
 */
import type { Readable } from "node:stream";
import { AbortError, FeatureError, InvalidArgumentError, RedirectError, SessionClosedError, SessionKitError, TimeoutError } from "../errors.js";
import { bytesStream, readUpTo } from "./body.js";
import { Cancellation } from "./cancellation.js";
import { ProxyConnectError } from "./connector.js";
import type { SessionFeature } from "./feature.js";
import { emptyMetrics, Message, MessageFlags, type MessageMetrics, type MessagePriorityValue } from "./message.js";
import { channels, type RestartReason } from "./diagnostics.js";
import { applyRedirect, isRedirectStatus, MAX_RESTARTS, redirectTarget, wouldRedirect } from "./redirect.js";
import { declaredLength, meter, ResponseTooLargeError } from "./meter.js";
import { normalizeRetry, retryableError, retryDelay, backoffDelay, type NormalizedRetry } from "./retry.js";
import type { Session } from "./session.js";
import { discardBody, type Transmitted, type Transport } from "./transport.js";
import { mapTransportError } from "./transport-errors.js";
import type { UpgradeOptions } from "./upgrade.js";

export interface RunOptions {
  signal?: AbortSignal;
  priority?: MessagePriorityValue;
}

/** What one attempt is: an HTTP round trip, or a WebSocket handshake with its options. */
export type AttemptKind = { readonly kind: "http" } | { readonly kind: "upgrade"; readonly options: UpgradeOptions };

export const HTTP_ATTEMPT: AttemptKind = Object.freeze({ kind: "http" });

/** What the runner needs from its Session; the Session passes it once, at construction. */
export interface RunnerHost {
  readonly session: Session;
  readonly transport: Transport;
  /** The features as they are when a message starts (an immutable array). */
  features(): readonly SessionFeature[];
  /** User-Agent and Accept-Language, before each attempt. */
  applyDefaultHeaders(msg: Message): void;
  closed(): boolean;
  /** The session's retry rules (null: no retries). */
  retry(): NormalizedRetry | null;
  /** The session's maxResponseSize (0: no limit). */
  maxResponseSize(): number;
}

export class MessageRunner {
  readonly #host: RunnerHost;
  /** Cancellation of every message in flight, for session.abort(). */
  readonly #active = new Set<Cancellation>();

  constructor(host: RunnerHost) {
    this.#host = host;
  }

  /** Cancels every message in flight. */
  abortAll(reason: Error): void {
    for (const c of [...this.#active]) c.abort(reason);
  }

  /**
   * Runs `msg` to its final response and returns its body (features applied), or for an
   * upgrade that succeeded, the open WebSocket too.
   */
  async run(msg: Message, options: RunOptions, attempt: AttemptKind = HTTP_ATTEMPT): Promise<Transmitted> {
    if (!(msg instanceof Message)) throw new InvalidArgumentError("send() needs a Message");
    if (this.#host.closed()) throw new SessionClosedError();
    const session = this.#host.session;
    if (options.priority !== undefined) msg.priority = options.priority;
    const cancel = new Cancellation();
    const signal = options.signal;
    let onAbort: (() => void) | undefined;
    if (signal) {
      if (signal.aborted) throw new AbortError(undefined, { cause: signal.reason });
      onAbort = () => cancel.abort(new AbortError(undefined, { cause: signal.reason }));
      signal.addEventListener("abort", onAbort, { once: true });
    }
    this.#active.add(cancel);
    const features = this.#host.features();
    const metrics = msg.hasFlag(MessageFlags.COLLECT_METRICS) ? (msg.metrics = emptyMetrics()) : null;
    if (metrics) metrics.fetchStart = performance.now();

    const deadline = msg.deadline;
    let deadlineTimer: NodeJS.Timeout | undefined;
    if (deadline !== null && deadline > 0) {
      deadlineTimer = setTimeout(
        () => cancel.abort(new TimeoutError(`The message did not complete within its deadline of ${deadline} ms`)),
        deadline,
      );
    }

    let unqueued = false;
    const unqueue = () => {
      if (unqueued) return;
      unqueued = true;
      if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
      this.#active.delete(cancel);
      if (signal && onAbort) signal.removeEventListener("abort", onAbort);
      for (const f of features) if (f.requestUnqueued && !msg.isFeatureDisabled(f)) safely(() => f.requestUnqueued!(msg, session));
      session.emit("request-unqueued", msg);
      msg.emit("finished");
    };

    session.emit("request-queued", msg);
    if (channels.queued.hasSubscribers) channels.queued.publish({ message: msg });
    // The final response until #watch takes charge of it: if a wrapBody hook throws or the
    // message is aborted meanwhile, it is destroyed here (which drops its connection).
    let final: Transmitted | null = null;
    let body: Readable | null = null;
    try {
      let current: SessionFeature | undefined;
      try {
        for (current of features) if (current.requestQueued && !msg.isFeatureDisabled(current)) current.requestQueued(msg, session);
      } catch (err) {
        throw featureFailure(current, "requestQueued", err);
      }
      final = await this.#loop(msg, features, cancel, metrics, attempt);
      if (final.upgraded !== null) {
        msg.emit("got-headers");
        unqueue();
        return final;
      }
      body = final.body;
      try {
        for (current of features) if (current.wrapBody && !msg.isFeatureDisabled(current)) body = await current.wrapBody(msg, body, session);
      } catch (err) {
        throw featureFailure(current, "wrapBody", err);
      }
      // Aborted while a feature was wrapping the body (e.g. sniffing its first bytes).
      if (cancel.aborted) throw toAbort(cancel.reason);
      const limit = msg.maxResponseSize ?? this.#host.maxResponseSize();
      if (limit > 0 && hasBody(msg)) {
        const declared = declaredLength(msg);
        if (declared !== null && declared > limit) throw new ResponseTooLargeError(limit, "declared");
      }
      const progress = msg.listenerCount("download-progress") > 0;
      if (limit > 0 || progress) body = meter(msg, final.body, body, limit, progress);
      msg.emit("got-headers");
      if (channels.headers.hasSubscribers) channels.headers.publish({ message: msg });
      const watched = final;
      final = null;
      this.#watch(msg, features, watched.body, body, cancel, metrics, unqueue);
      return { body, upgraded: null };
    } catch (err) {
      if (final !== null) {
        // undici's body errors when destroyed before its end: nobody reads it any more.
        body?.on("error", noop).destroy();
        final.body.on("error", noop).destroy();
      }
      const mapped = cancel.aborted && !(err instanceof RedirectError) ? toAbort(cancel.reason, err) : mapTransportError(err);
      if (channels.error.hasSubscribers) channels.error.publish({ message: msg, error: mapped });
      unqueue();
      throw mapped;
    }
  }

  /** Attempts, restarts and redirects until a response the caller should get. */
  async #loop(
    msg: Message,
    features: readonly SessionFeature[],
    cancel: Cancellation,
    metrics: MessageMetrics | null,
    attempt: AttemptKind,
  ): Promise<Transmitted> {
    const session = this.#host.session;
    const retry = msg.retry === null ? this.#host.retry() : normalizeRetry(msg.retry);
    for (let attemptNo = 1; ; attemptNo++) {
      this.#host.applyDefaultHeaders(msg);
      let synthetic = undefined;
      let current: SessionFeature | undefined;
      try {
        for (current of features) {
          if (!current.beforeSend || msg.isFeatureDisabled(current)) continue;
          const r = current.beforeSend(msg, session);
          synthetic = r instanceof Promise ? await r : r;
          if (synthetic) break;
        }
      } catch (err) {
        throw featureFailure(current, "beforeSend", err);
      }
      if (cancel.aborted) throw toAbort(cancel.reason);
      if (channels.send.hasSubscribers) channels.send.publish({ message: msg, attempt: attemptNo });

      let sent: Transmitted;
      if (synthetic) {
        msg._setResponse(synthetic.status, synthetic.reasonPhrase ?? "", synthetic.headers);
        const b = synthetic.body;
        sent = { body: b instanceof Uint8Array ? bytesStream(b) : b, upgraded: null };
      } else {
        try {
          sent =
            attempt.kind === "http"
              ? await this.#host.transport.transmit(msg, cancel, metrics)
              : await this.#host.transport.upgrade(msg, cancel, attempt.options);
        } catch (err) {
          if (err instanceof ProxyConnectError) {
            // The proxy answered CONNECT with an error (e.g. 407): show it to the features as
            // the message's response, so the auth feature can answer and restart.
            msg._setResponse(err.status, err.reasonPhrase, err.headers);
            sent = { body: bytesStream(new Uint8Array(0)), upgraded: null };
          } else {
            const mapped = cancel.aborted ? toAbort(cancel.reason, err) : mapTransportError(err);
            for (const f of features) if (f.failed && !msg.isFeatureDisabled(f)) safely(() => f.failed!(msg, mapped, session));
            if (!cancel.aborted && mayRetry(retry, msg) && retryableError(retry!, mapped)) {
              await wait(backoffDelay(retry!, msg.retryCount + 1), cancel);
              this.#restart(msg, features, null, "retry");
              continue;
            }
            throw mapped;
          }
        }
      }

      let restart = false;
      try {
        for (current of features) {
          if (!current.gotHeaders || msg.isFeatureDisabled(current)) continue;
          let r = current.gotHeaders(msg, session);
          if (r instanceof Promise) r = await r;
          if (r === "restart") restart = true;
        }
      } catch (err) {
        drop(sent);
        throw featureFailure(current, "gotHeaders", err);
      }
      if (cancel.aborted) {
        drop(sent);
        throw toAbort(cancel.reason);
      }
      // An open WebSocket is final: there is nothing to restart or redirect.
      if (sent.upgraded !== null) return sent;

      const canResend = msg.bodyReplayable || !msg.bodyUsed;
      if (restart && canResend) {
        this.#restart(msg, features, sent, "feature");
        continue;
      }
      if (isRedirectStatus(msg.status) && !msg.hasFlag(MessageFlags.NO_REDIRECT) && wouldRedirect(msg)) {
        const target = redirectTarget(msg, attempt.kind === "upgrade"); // throws REDIRECT_NO_LOCATION / REDIRECT_BAD_URI
        const keepsBody = msg.status === 307 || msg.status === 308;
        if (!keepsBody || canResend) {
          applyRedirect(msg, target);
          this.#restart(msg, features, sent, "redirect");
          continue;
        }
      }
      if (mayRetry(retry, msg) && retry!.statusSet.has(msg.status)) {
        let delay: number;
        try {
          delay = retryDelay(retry!, msg.retryCount + 1, msg.status, msg.responseHeaders);
        } catch (err) {
          drop(sent);
          throw err;
        }
        drop(sent);
        await wait(delay, cancel);
        this.#restart(msg, features, null, "retry");
        continue;
      }

      // The bounded body hook: features that asked to see a small body before the caller.
      let limit = 0;
      try {
        for (current of features) {
          if (!current.wantsBody || msg.isFeatureDisabled(current)) continue;
          const n = current.wantsBody(msg, session);
          if (typeof n === "number" && n > limit) limit = n;
        }
      } catch (err) {
        drop(sent);
        throw featureFailure(current, "wantsBody", err);
      }
      if (limit > 0) {
        const read = await readUpTo(sent.body, limit);
        if (!read.complete) return { body: read.stream, upgraded: null };
        restart = false;
        try {
          for (current of features) {
            if (!current.inspectBody || msg.isFeatureDisabled(current)) continue;
            let r = current.inspectBody(msg, read.bytes, session);
            if (r instanceof Promise) r = await r;
            if (r === "restart") restart = true;
          }
        } catch (err) {
          throw featureFailure(current, "inspectBody", err);
        }
        // The body was read to its end, so its connection is back in the pool already.
        if (restart && canResend) {
          this.#restart(msg, features, null, "feature");
          continue;
        }
        return { body: bytesStream(read.bytes), upgraded: null };
      }
      return sent;
    }
  }

  #restart(msg: Message, features: readonly SessionFeature[], sent: Transmitted | null, reason: RestartReason): void {
    if (sent !== null) drop(sent);
    if (reason === "retry") msg.retryCount++;
    if (++msg.restartCount > MAX_RESTARTS) {
      throw new RedirectError("TOO_MANY_REDIRECTS", `Gave up after ${MAX_RESTARTS} redirects or restarts`);
    }
    msg._resetResponse();
    const session = this.#host.session;
    let current: SessionFeature | undefined;
    try {
      for (current of features) if (current.restarted && !msg.isFeatureDisabled(current)) current.restarted(msg, session);
    } catch (err) {
      throw featureFailure(current, "restarted", err);
    }
    msg.emit("restarted", reason);
    if (channels.restarted.hasSubscribers) channels.restarted.publish({ message: msg, reason });
  }

  /** Ties gotBody, abort and unqueue to the life of the body the caller reads. */
  #watch(
    msg: Message,
    features: readonly SessionFeature[],
    raw: Readable,
    body: Readable,
    cancel: Cancellation,
    metrics: MessageMetrics | null,
    unqueue: () => void,
  ): void {
    const session = this.#host.session;
    if (metrics && metrics.responseStart === 0) metrics.responseStart = metrics.responseEnd = performance.now();
    const onAbort = () => body.destroy(toAbort(cancel.reason));
    cancel.addEventListener("abort", onAbort);
    // Always one 'end' listener: the branch that skipped it when no feature had gotBody showed
    // no gain in an A/B (bench/README.md, issue 14), so the simpler code stays.
    body.once("end", () => {
      for (const f of features) if (f.gotBody && !msg.isFeatureDisabled(f)) safely(() => f.gotBody!(msg, session));
      if (channels.done.hasSubscribers) channels.done.publish({ message: msg });
    });
    body.once("close", () => {
      cancel.removeEventListener("abort", onAbort);
      // The caller closed a wrapped body early: stop reading the raw one (its connection is dropped).
      if (raw !== body && !raw.destroyed && !raw.readableEnded) raw.destroy();
      unqueue();
    });
    // An error on the body is delivered to whoever reads it; never crash the process.
    body.on("error", noop);
  }
}

/** Whether `msg` may be retried once more under `policy` (method, count, a body that can be sent again). */
function mayRetry(policy: NormalizedRetry | null, msg: Message): boolean {
  return policy !== null && msg.retryCount < policy.limit && policy.methodSet.has(msg.method) && msg.bodyReplayable;
}

/** Waits `ms`, or rejects at once when the message is aborted meanwhile. */
function wait(ms: number, cancel: Cancellation): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(toAbort(cancel.reason));
    };
    const timer = setTimeout(() => {
      cancel.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    cancel.addEventListener("abort", onAbort);
  });
}

/** Drops a response that will not be handed out (its connection is kept when the body is small). */
function drop(sent: Transmitted): void {
  sent.upgraded?.terminate();
  discardBody(sent.body);
}

function noop(): void {}

/** Whether the response can have a body (RFC 9110: not for HEAD, 1xx, 204 and 304). */
function hasBody(msg: Message): boolean {
  return msg.method !== "HEAD" && msg.status >= 200 && msg.status !== 204 && msg.status !== 304;
}

/** The error a cancelled message fails with: its own typed reason (a deadline's TIMEOUT), else ABORTED. */
function toAbort(reason: unknown, cause?: unknown): SessionKitError {
  if (reason instanceof SessionKitError) return reason;
  return new AbortError(undefined, { cause: cause ?? reason });
}

/** A hook's own typed error stays as it is; anything else becomes a FeatureError naming the feature. */
function featureFailure(feature: SessionFeature | undefined, hook: string, err: unknown): Error {
  if (err instanceof SessionKitError) return err;
  const name = (feature?.constructor as { name?: string } | undefined)?.name || "anonymous feature";
  return new FeatureError(name, hook, { cause: err });
}

/** Hooks that run after the fact (unqueued, failed, gotBody) must not break the caller. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`sessionkit: a session feature hook threw: ${(err as Error)?.message ?? String(err)}`);
  }
}

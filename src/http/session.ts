/**
 * Session: libsoup's SoupSession in TypeScript idiom. A session sends Messages through a
 * queue, over pooled connections (transport.ts and pool.ts: undici Clients), and runs each
 * message through its features at fixed points (see feature.ts). It is the only place that
 * orders features, follows redirects and restarts messages.
 */
import { EventEmitter } from "node:events";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AbortError, InvalidArgumentError, RedirectError, SessionClosedError } from "../errors.js";
import type { AuthenticateRequest } from "./authenticate.js";
import { ResponseBody, readAll } from "./body.js";
import { ProxyConnectError } from "./connector.js";
import { acceptLanguageFromLocale, resolveUserAgent } from "./defaults.js";
import { assertSessionFeature, FeatureOrder, type SessionFeature, type SessionFeatureClass, type SyntheticResponse } from "./feature.js";
import { emptyMetrics, Message, MessageFlags, type MessagePriorityValue } from "./message.js";
import type { ConnectionPool, PooledConnection } from "./pool.js";
import { Transport, type Transmitted } from "./transport.js";
import { Cancellation } from "./cancellation.js";
import { proxyResolverFromEnv, type ProxyResolver } from "./proxy.js";
import { applyRedirect, isRedirectStatus, MAX_RESTARTS, redirectTarget, wouldRedirect } from "./redirect.js";
import { checkCount, checkMs, checkOptionalString, type SessionOptions, type TlsDatabase, type TlsInteraction } from "./session-options.js";
import { mapTransportError } from "./transport-errors.js";
import { ContentDecoder } from "../features/content-decoder.js";
import { sessionFetch } from "./fetch.js";
import type { SessionFetch } from "./fetch-types.js";
import { websocketConnect, type WebsocketConnectOptions } from "./websocket.js";
import type { WebsocketConnection } from "./websocket-connection.js";

export type { SessionOptions, TlsDatabase, TlsInteraction } from "./session-options.js";

export interface SessionEvents {
  /** A message entered the queue (once per message, not per restart). */
  "request-queued": [msg: Message];
  /** A message left the queue: finished, failed or cancelled (once per message). */
  "request-unqueued": [msg: Message];
  /** Credentials are needed (emitted by the AuthManager feature). */
  authenticate: [request: AuthenticateRequest];
}

export interface SendOptions {
  signal?: AbortSignal;
  priority?: MessagePriorityValue;
}

export interface SpliceOptions {
  signal?: AbortSignal;
  /** Destroy the response body stream when done (always true in effect on error). @default true */
  closeSource?: boolean;
  /** End the writable when the body is done. @default true */
  closeTarget?: boolean;
}

/** Extra features a Session adds by default, registered by feature modules (AuthManager). */
const defaultFeatureFactories: Array<() => SessionFeature> = [() => new ContentDecoder()];

/** @internal lets a feature module (e.g. auth) join the default set without a cycle. */
export function registerDefaultFeature(factory: () => SessionFeature): void {
  defaultFeatureFactories.push(factory);
}

const emptyBody = () => Readable.from([]);

export class Session extends EventEmitter<SessionEvents> {
  readonly #transport: Transport;
  readonly #pool: ConnectionPool;
  /** Replaced (never mutated) on add/remove, so a request can keep the array it started with. */
  #features: readonly SessionFeature[] = [];
  /** Whether any feature has a gotBody hook (else no 'end' listener is needed per body). */
  #anyGotBody = false;
  #userAgent: string | null;
  #userAgentRaw: string | null;
  #acceptLanguage: string | null = null;
  #acceptLanguageAuto = false;
  #active = new Set<Cancellation>();
  #closed = false;

  constructor(options: SessionOptions = {}) {
    super();
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("Session options must be an object");
    const maxConns = checkCount("maxConns", options.maxConns ?? 10);
    const maxConnsPerHost = checkCount("maxConnsPerHost", options.maxConnsPerHost ?? 2);
    const idleTimeout = checkMs("idleTimeout", options.idleTimeout ?? 60_000);
    if (options.proxyResolver != null && typeof options.proxyResolver !== "function") {
      throw new InvalidArgumentError("proxyResolver must be a function (url) => string | null");
    }
    this.#transport = new Transport(
      { maxConns, maxConnsPerHost, idleTimeout },
      {
        timeout: checkMs("timeout", options.timeout ?? 60_000),
        localAddress: checkOptionalString("localAddress", options.localAddress),
        remoteConnectable: checkOptionalString("remoteConnectable", options.remoteConnectable),
        proxyResolver: options.proxyResolver === undefined ? proxyResolverFromEnv() : options.proxyResolver,
        tlsDatabase: options.tlsDatabase,
        tlsInteraction: options.tlsInteraction ?? null,
      },
    );
    this.#pool = this.#transport.pool;
    this.#userAgentRaw = options.userAgent === null ? null : (checkOptionalString("userAgent", options.userAgent) ?? "");
    this.#userAgent = resolveUserAgent(this.#userAgentRaw);
    if (options.acceptLanguageAuto) this.acceptLanguageAuto = true;
    if (options.acceptLanguage != null) this.acceptLanguage = options.acceptLanguage;
    if (options.defaultFeatures !== false) for (const make of defaultFeatureFactories) this.addFeature(make());
    for (const f of options.features ?? []) this.addFeature(f);
  }

  // ── properties (libsoup's get_/set_ pairs) ────────────────────────────────────────────

  get maxConns(): number {
    return this.#pool.limits.maxConns;
  }
  set maxConns(v: number) {
    this.#pool.limits.maxConns = checkCount("maxConns", v);
  }
  get maxConnsPerHost(): number {
    return this.#pool.limits.maxConnsPerHost;
  }
  set maxConnsPerHost(v: number) {
    this.#pool.limits.maxConnsPerHost = checkCount("maxConnsPerHost", v);
  }
  get idleTimeout(): number {
    return this.#pool.limits.idleTimeout;
  }
  set idleTimeout(v: number) {
    this.#pool.limits.idleTimeout = checkMs("idleTimeout", v);
  }
  get timeout(): number {
    return this.#transport.settings.timeout;
  }
  set timeout(v: number) {
    this.#transport.settings.timeout = checkMs("timeout", v);
  }
  /** The User-Agent actually sent (null: none). Assign "", a product token, or null. */
  get userAgent(): string | null {
    return this.#userAgent;
  }
  set userAgent(v: string | null) {
    this.#userAgentRaw = v === null ? null : (checkOptionalString("userAgent", v) ?? "");
    this.#userAgent = resolveUserAgent(this.#userAgentRaw);
  }
  get acceptLanguage(): string | null {
    return this.#acceptLanguage;
  }
  set acceptLanguage(v: string | null) {
    this.#acceptLanguage = checkOptionalString("acceptLanguage", v);
    this.#acceptLanguageAuto = false;
  }
  get acceptLanguageAuto(): boolean {
    return this.#acceptLanguageAuto;
  }
  set acceptLanguageAuto(v: boolean) {
    this.#acceptLanguageAuto = Boolean(v);
    this.#acceptLanguage = v ? acceptLanguageFromLocale() : null;
  }
  get localAddress(): string | null {
    return this.#transport.settings.localAddress;
  }
  set localAddress(v: string | null) {
    this.#transport.settings.localAddress = checkOptionalString("localAddress", v);
  }
  get remoteConnectable(): string | null {
    return this.#transport.settings.remoteConnectable;
  }
  set remoteConnectable(v: string | null) {
    this.#transport.settings.remoteConnectable = checkOptionalString("remoteConnectable", v);
  }
  get proxyResolver(): ProxyResolver | null {
    return this.#transport.settings.proxyResolver;
  }
  set proxyResolver(v: ProxyResolver | null) {
    if (v !== null && typeof v !== "function") throw new InvalidArgumentError("proxyResolver must be a function or null");
    this.#transport.settings.proxyResolver = v;
  }
  get tlsDatabase(): TlsDatabase | undefined {
    return this.#transport.settings.tlsDatabase;
  }
  set tlsDatabase(v: TlsDatabase | undefined) {
    this.#transport.settings.tlsDatabase = v;
  }
  get tlsInteraction(): TlsInteraction | null {
    return this.#transport.settings.tlsInteraction;
  }
  set tlsInteraction(v: TlsInteraction | null) {
    this.#transport.settings.tlsInteraction = v;
  }
  /** Open connections right now (for tests and monitoring). */
  get connectionCount(): number {
    return this.#pool.count();
  }
  get idleConnectionCount(): number {
    return this.#pool.idleCount();
  }
  get closed(): boolean {
    return this.#closed;
  }

  // ── features ──────────────────────────────────────────────────────────────────────────

  /** The features in the order the session runs them. */
  get features(): readonly SessionFeature[] {
    return this.#features;
  }

  /** Adds a feature. A second feature of the same class is ignored (returns false). */
  addFeature(feature: SessionFeature): boolean {
    assertSessionFeature(feature);
    if (this.#features.includes(feature)) return false;
    if (this.#features.some((f) => f.constructor === feature.constructor)) return false;
    feature.attach?.(this);
    const order = (f: SessionFeature) => f.order ?? FeatureOrder.DEFAULT;
    const next = this.#features.slice();
    let i = next.length;
    while (i > 0 && order(next[i - 1]) > order(feature)) i--;
    next.splice(i, 0, feature);
    this.#setFeatures(next);
    return true;
  }

  /**
   * Adds a feature by class: a feature class is constructed with no arguments; a class a
   * present feature accepts as a sub-feature (e.g. an auth scheme) is handed to it instead.
   */
  addFeatureByType(type: SessionFeatureClass): boolean {
    if (typeof type !== "function") throw new TypeError("addFeatureByType needs a class");
    for (const f of this.#features) if (f.addSubFeature?.(type)) return true;
    return this.addFeature(new (type as unknown as new () => SessionFeature)());
  }

  removeFeature(feature: SessionFeature): boolean {
    const i = this.#features.indexOf(feature);
    if (i === -1) return false;
    this.#setFeatures(this.#features.filter((f) => f !== feature));
    feature.detach?.(this);
    return true;
  }

  /** Removes every feature that is an instance of `type` (so subclasses too), or the sub-feature. */
  removeFeatureByType(type: SessionFeatureClass): boolean {
    let removed = false;
    for (const f of [...this.#features]) if (f instanceof type) removed = this.removeFeature(f) || removed;
    if (!removed) for (const f of this.#features) if (f.removeSubFeature?.(type)) removed = true;
    return removed;
  }

  getFeature<T extends object>(type: SessionFeatureClass<T>): T | null {
    for (const f of this.#features) if (f instanceof type) return f as T;
    return null;
  }

  /** Like getFeature, but null when the message disabled that feature. */
  getFeatureForMessage<T extends object>(type: SessionFeatureClass<T>, msg: Message): T | null {
    const f = this.getFeature(type);
    return f === null || msg.isFeatureDisabled(f) ? null : f;
  }

  #setFeatures(list: SessionFeature[]): void {
    this.#features = Object.freeze(list);
    this.#anyGotBody = list.some((f) => typeof f.gotBody === "function");
  }

  hasFeature(type: SessionFeatureClass): boolean {
    if (this.getFeature(type) !== null) return true;
    return this.#features.some((f) => f.hasSubFeature?.(type) === true);
  }

  // ── sending ───────────────────────────────────────────────────────────────────────────

  /** Sends `msg`; resolves at the response headers to the body as a stream. */
  async send(msg: Message, options: SendOptions = {}): Promise<ResponseBody> {
    const { body } = await this.#send(msg, options);
    return new ResponseBody(body);
  }

  /** Sends `msg` and reads the whole response body. */
  async sendAndRead(msg: Message, options: SendOptions = {}): Promise<Uint8Array> {
    const { body } = await this.#send(msg, options);
    return readAll(body);
  }

  /** Sends `msg` and writes the body into `target` with backpressure; resolves to the byte count. */
  async sendAndSplice(msg: Message, target: Writable | NodeJS.WritableStream, options: SpliceOptions = {}): Promise<number> {
    const { body } = await this.#send(msg, options);
    let bytes = 0;
    body.on("data", (c: Uint8Array) => (bytes += c.length));
    try {
      await pipeline(body, target as Writable, { signal: options.signal, end: options.closeTarget ?? true });
    } catch (err) {
      // The body failing is a transport error of the body stage; the target's own failure
      // (disk full, a closed socket of the caller's) is the caller's error and stays as it is.
      if (body.errored) throw mapTransportError(body.errored, "body");
      if (options.signal?.aborted) throw toAbort(options.signal.reason, err);
      throw err;
    } finally {
      if (options.closeSource !== false || !body.readableEnded) body.destroy();
    }
    return bytes;
  }

  /** A WHATWG fetch whose requests go through this session (pool, features, redirects). */
  readonly fetch: SessionFetch = (input, init) => sessionFetch(this.#sendForFetch, input, init);
  readonly #sendForFetch = (msg: Message, options: SendOptions) => this.#send(msg, options);

  /** Upgrades `msg` to a WebSocket through the session's pipeline (libsoup's websocket_connect). */
  websocketConnect(msg: Message, options: WebsocketConnectOptions = {}): Promise<WebsocketConnection> {
    this.#assertOpen();
    return websocketConnect(this, msg, options);
  }

  /** Opens an idle connection to msg's origin (or keeps one that is open). */
  async preconnect(msg: Message, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    await this.#transport.preconnect(msg, options.signal);
  }

  /** Cancels every pending request (they reject with ABORTED) and closes idle connections. */
  abort(): void {
    for (const c of [...this.#active]) c.abort(new AbortError("The session aborted the request"));
    this.#pool.closeIdle();
  }

  /** Aborts everything, closes every connection and detaches the features. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.abort();
    this.#closed = true;
    this.#pool.destroyAll(new SessionClosedError());
    for (const f of [...this.#features]) f.detach?.(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  override toString(): string {
    return `Session { maxConns: ${this.maxConns}, maxConnsPerHost: ${this.maxConnsPerHost}, connections: ${this.connectionCount} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  #assertOpen(): void {
    if (this.#closed) throw new SessionClosedError();
  }

  // ── the message lifecycle ─────────────────────────────────────────────────────────────

  async #send(msg: Message, options: SendOptions): Promise<{ body: Readable }> {
    if (!(msg instanceof Message)) throw new InvalidArgumentError("send() needs a Message");
    this.#assertOpen();
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
    const features = this.#features;
    const metrics = msg.hasFlag(MessageFlags.COLLECT_METRICS) ? (msg.metrics = emptyMetrics()) : null;
    if (metrics) metrics.fetchStart = performance.now();

    let unqueued = false;
    const unqueue = () => {
      if (unqueued) return;
      unqueued = true;
      this.#active.delete(cancel);
      if (signal && onAbort) signal.removeEventListener("abort", onAbort);
      for (const f of features) if (f.requestUnqueued && !msg.isFeatureDisabled(f)) safely(() => f.requestUnqueued!(msg, this));
      this.emit("request-unqueued", msg);
      msg.emit("finished");
    };

    this.emit("request-queued", msg);
    // The response the features are wrapping, until #watchBody takes charge of it: if a
    // wrapBody hook throws or the request is aborted meanwhile, its connection is dropped here.
    let unwatched: Transmitted | null = null;
    let body: Readable | null = null;
    try {
      for (const f of features) if (f.requestQueued && !msg.isFeatureDisabled(f)) f.requestQueued(msg, this);
      const final = (unwatched = await this.#runUntilFinal(msg, features, cancel, metrics));
      body = final.body;
      for (const f of features) {
        if (f.wrapBody && !msg.isFeatureDisabled(f)) body = await f.wrapBody(msg, body, this);
      }
      // Aborted while a feature was wrapping the body (e.g. sniffing its first bytes).
      if (cancel.aborted) throw toAbort(cancel.reason);
      msg.emit("got-headers");
      unwatched = null;
      this.#watchBody(msg, features, final.body, body, final.conn, cancel, metrics, unqueue);
      return { body };
    } catch (err) {
      if (unwatched !== null) {
        // undici's body errors when destroyed before its end: nobody reads it any more.
        body?.on("error", noop).destroy();
        unwatched.body.on("error", noop).destroy();
        if (unwatched.conn !== null) this.#pool.discard(unwatched.conn);
      }
      const mapped = cancel.aborted && !(err instanceof RedirectError) ? toAbort(cancel.reason, err) : mapTransportError(err);
      unqueue();
      throw mapped;
    }
  }

  /** Sends, restarts and redirects until a response the caller should get. */
  async #runUntilFinal(
    msg: Message,
    features: readonly SessionFeature[],
    signal: Cancellation,
    metrics: ReturnType<typeof emptyMetrics> | null,
  ): Promise<Transmitted> {
    for (;;) {
      this.#applyDefaultHeaders(msg);
      let synthetic: SyntheticResponse | void = undefined;
      for (const f of features) {
        if (!f.beforeSend || msg.isFeatureDisabled(f)) continue;
        const r = f.beforeSend(msg, this);
        synthetic = r instanceof Promise ? await r : r;
        if (synthetic) break;
      }
      if (signal.aborted) throw toAbort(signal.reason);

      let sent: Transmitted;
      if (synthetic) {
        msg.status = synthetic.status;
        msg.reasonPhrase = synthetic.reasonPhrase ?? "";
        msg.responseHeaders = synthetic.headers;
        const b = synthetic.body;
        sent = { conn: null, body: b instanceof Uint8Array ? Readable.from([Buffer.from(b.buffer, b.byteOffset, b.byteLength)]) : b };
      } else {
        try {
          sent = await this.#transport.transmit(msg, signal, metrics);
        } catch (err) {
          if (err instanceof ProxyConnectError) {
            // The proxy answered CONNECT with an error (e.g. 407): show it to the features as
            // the message's response, so the auth feature can answer and restart.
            msg.status = err.status;
            msg.reasonPhrase = err.reasonPhrase;
            msg.responseHeaders = err.headers;
            sent = { conn: null, body: emptyBody() };
          } else {
            const mapped = signal.aborted ? toAbort(signal.reason, err) : mapTransportError(err);
            for (const f of features) if (f.failed && !msg.isFeatureDisabled(f)) safely(() => f.failed!(msg, mapped, this));
            throw mapped;
          }
        }
      }

      let restart = false;
      for (const f of features) {
        if (!f.gotHeaders || msg.isFeatureDisabled(f)) continue;
        let r;
        try {
          r = f.gotHeaders(msg, this);
          if (r instanceof Promise) r = await r;
        } catch (err) {
          this.#transport.discardBody(sent);
          throw err;
        }
        if (r === "restart") restart = true;
      }
      if (signal.aborted) {
        this.#transport.discardBody(sent);
        throw toAbort(signal.reason);
      }

      const canResend = msg.bodyReplayable || !msg.bodyUsed;
      if (restart && canResend) {
        await this.#restart(msg, features, sent);
        continue;
      }
      if (isRedirectStatus(msg.status) && !msg.hasFlag(MessageFlags.NO_REDIRECT) && wouldRedirect(msg)) {
        const target = redirectTarget(msg); // throws REDIRECT_NO_LOCATION / REDIRECT_BAD_URI
        const keepsBody = msg.status === 307 || msg.status === 308;
        if (!keepsBody || canResend) {
          applyRedirect(msg, target);
          await this.#restart(msg, features, sent);
          continue;
        }
      }
      return sent;
    }
  }

  async #restart(msg: Message, features: readonly SessionFeature[], sent: Transmitted): Promise<void> {
    this.#transport.discardBody(sent);
    if (++msg.restartCount > MAX_RESTARTS) {
      throw new RedirectError("TOO_MANY_REDIRECTS", `Gave up after ${MAX_RESTARTS} redirects or restarts`);
    }
    msg._resetResponse();
    for (const f of features) if (f.restarted && !msg.isFeatureDisabled(f)) f.restarted(msg, this);
    msg.emit("restarted");
  }

  #applyDefaultHeaders(msg: Message): void {
    const h = msg.requestHeaders;
    const ua = this.#userAgent;
    if (ua !== null) h.set("User-Agent", ua);
    const al = this.#acceptLanguage;
    if (al !== null && !h.has("Accept-Language")) h.set("Accept-Language", al);
  }

  /** Ties connection release, gotBody and unqueue to the life of the body the caller reads. */
  #watchBody(
    msg: Message,
    features: readonly SessionFeature[],
    raw: Readable,
    body: Readable,
    conn: PooledConnection | null,
    cancel: Cancellation,
    metrics: ReturnType<typeof emptyMetrics> | null,
    unqueue: () => void,
  ): void {
    // The connection goes back on 'end' (before the reader's own 'end' handler resolves, so
    // the caller's next request finds it idle); a body closed before its end costs the
    // connection. When no feature wrapped the body, the body's own 'close' handler below
    // does that check, saving a listener per request.
    let released = conn === null;
    if (conn !== null) {
      raw.once("end", () => {
        released = true;
        this.#pool.release(conn);
      });
      if (raw !== body) {
        raw.once("close", () => {
          if (!released) {
            released = true;
            this.#pool.discard(conn);
          }
        });
      }
    }
    if (metrics && conn === null) metrics.responseStart = metrics.responseEnd = performance.now();
    const onAbort = () => body.destroy(toAbort(cancel.reason));
    cancel.addEventListener("abort", onAbort);
    if (this.#anyGotBody) {
      body.once("end", () => {
        for (const f of features) if (f.gotBody && !msg.isFeatureDisabled(f)) safely(() => f.gotBody!(msg, this));
      });
    }
    body.once("close", () => {
      cancel.removeEventListener("abort", onAbort);
      if (!released && raw === body) {
        released = true;
        this.#pool.discard(conn!);
      } else if (!raw.destroyed && !raw.readableEnded) raw.destroy();
      unqueue();
    });
    // An error on the body is delivered to whoever reads it; never crash the process.
    body.on("error", noop);
  }
}

function noop(): void {}

function toAbort(reason: unknown, cause?: unknown): AbortError {
  if (reason instanceof AbortError) return reason;
  return new AbortError(undefined, { cause: cause ?? reason });
}

/** Hooks that run after the fact (unqueued, failed, gotBody) must not break the caller. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.emitWarning(`sessionkit: a session feature hook threw: ${(err as Error)?.message ?? String(err)}`);
  }
}

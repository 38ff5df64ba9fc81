/**
 * Session: libsoup's SoupSession in TypeScript idiom. A session sends Messages through a
 * queue, over pooled connections (transport.ts and pool.ts: undici Clients), and runs each
 * message through its features at fixed points (see feature.ts). It is the only place that
 * orders features; its message runner (runner.ts) follows redirects and restarts messages,
 * for every way of sending.
 *
 * The default features (ContentDecoder and AuthManager, as in libsoup) are composed here,
 * explicitly: whichever entry point a program imports, a Session has the same defaults, and
 * no module changes behaviour by being imported.
 */
import { EventEmitter } from "node:events";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AbortError, InvalidArgumentError, SessionClosedError } from "../errors.js";
import { AuthManager } from "../features/auth/auth-manager.js";
import { ContentDecoder } from "../features/content-decoder.js";
import type { AuthenticateRequest } from "./authenticate.js";
import { ResponseBody, readAll } from "./body.js";
import { acceptLanguageFromLocale, resolveUserAgent } from "./defaults.js";
import { assertSessionFeature, FeatureOrder, type SessionFeature, type SessionFeatureClass } from "./feature.js";
import { sessionFetch } from "./fetch.js";
import type { SessionFetch } from "./fetch-types.js";
import type { Message, MessagePriorityValue } from "./message.js";
import type { ConnectionPool } from "./pool.js";
import { proxyResolverFromEnv, type ProxyResolver } from "./proxy.js";
import { normalizeRetry, type NormalizedRetry, type RetryOptions } from "./retry.js";
import { MessageRunner } from "./runner.js";
import {
  addressGuardFrom,
  checkBool,
  checkCount,
  checkMs,
  checkOptionalString,
  type SessionOptions,
  type TlsDatabase,
  type TlsInteraction,
} from "./session-options.js";
import { Transport } from "./transport.js";
import { mapTransportError } from "./transport-errors.js";
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

/** The features every Session starts with unless `defaultFeatures: false` (libsoup's defaults). */
function defaultFeatures(): SessionFeature[] {
  return [new ContentDecoder(), new AuthManager()];
}

export class Session extends EventEmitter<SessionEvents> {
  readonly #transport: Transport;
  readonly #pool: ConnectionPool;
  readonly #runner: MessageRunner;
  /** Replaced (never mutated) on add/remove, so a request can keep the array it started with. */
  #features: readonly SessionFeature[] = [];
  #userAgent: string | null;
  #userAgentRaw: string | null;
  #acceptLanguage: string | null = null;
  #acceptLanguageAuto = false;
  #closed = false;
  #retry: NormalizedRetry | null = null;
  #maxResponseSize = 0;

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
        connectTimeout: options.connectTimeout == null ? null : checkMs("connectTimeout", options.connectTimeout),
        headersTimeout: options.headersTimeout == null ? null : checkMs("headersTimeout", options.headersTimeout),
        bodyTimeout: options.bodyTimeout == null ? null : checkMs("bodyTimeout", options.bodyTimeout),
        localAddress: checkOptionalString("localAddress", options.localAddress),
        remoteConnectable: checkOptionalString("remoteConnectable", options.remoteConnectable),
        proxyResolver: options.proxyResolver === undefined ? proxyResolverFromEnv() : options.proxyResolver,
        tlsDatabase: options.tlsDatabase,
        tlsInteraction: options.tlsInteraction ?? null,
        addressGuard: addressGuardFrom(options.blockPrivateAddresses),
        http2: checkBool("http2", options.http2 ?? true),
      },
    );
    this.#pool = this.#transport.pool;
    this.#runner = new MessageRunner({
      session: this,
      transport: this.#transport,
      features: () => this.#features,
      applyDefaultHeaders: (msg) => this.#applyDefaultHeaders(msg),
      closed: () => this.#closed,
      retry: () => this.#retry,
      maxResponseSize: () => this.#maxResponseSize,
    });
    this.#userAgentRaw = options.userAgent === null ? null : (checkOptionalString("userAgent", options.userAgent) ?? "");
    this.#userAgent = resolveUserAgent(this.#userAgentRaw);
    this.#retry = normalizeRetry(options.retry);
    this.#maxResponseSize = checkMs("maxResponseSize", options.maxResponseSize ?? 0);
    if (options.acceptLanguageAuto) this.acceptLanguageAuto = true;
    if (options.acceptLanguage != null) this.acceptLanguage = options.acceptLanguage;
    if (options.defaultFeatures !== false) for (const f of defaultFeatures()) this.addFeature(f);
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
  /** Offer HTTP/2 on https connections opened from now on (false: HTTP/1.1 only). */
  get http2(): boolean {
    return this.#transport.settings.http2;
  }
  set http2(v: boolean) {
    this.#transport.settings.http2 = checkBool("http2", v);
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
  /**
   * Retry rules for every message (a message's own `msg.retry` wins): false/0 for none (the
   * default), a number for that many retries with the default rules, or RetryOptions.
   */
  get retry(): Readonly<RetryOptions> | null {
    const r = this.#retry;
    if (r === null) return null;
    const { limit, methods, statusCodes, errorCodes, backoffBase, backoffCap, maxRetryAfter } = r;
    return { limit, methods, statusCodes, errorCodes, backoffBase, backoffCap, maxRetryAfter };
  }
  set retry(v: RetryOptions | number | boolean | null) {
    this.#retry = normalizeRetry(v);
  }

  /** Largest response body accepted, in bytes, counted on the wire and decoded (0: no limit). */
  get maxResponseSize(): number {
    return this.#maxResponseSize;
  }
  set maxResponseSize(v: number) {
    this.#maxResponseSize = checkMs("maxResponseSize", v);
  }
  /** Connect timeout in ms (null: `timeout`). */
  get connectTimeout(): number | null {
    return this.#transport.settings.connectTimeout;
  }
  set connectTimeout(v: number | null) {
    this.#transport.settings.connectTimeout = v === null ? null : checkMs("connectTimeout", v);
  }
  /** Longest wait for the response headers in ms (null: `timeout`). */
  get headersTimeout(): number | null {
    return this.#transport.settings.headersTimeout;
  }
  set headersTimeout(v: number | null) {
    this.#transport.settings.headersTimeout = v === null ? null : checkMs("headersTimeout", v);
  }
  /** Longest silence while the body arrives in ms (null: `timeout`). */
  get bodyTimeout(): number | null {
    return this.#transport.settings.bodyTimeout;
  }
  set bodyTimeout(v: number | null) {
    this.#transport.settings.bodyTimeout = v === null ? null : checkMs("bodyTimeout", v);
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
  }

  hasFeature(type: SessionFeatureClass): boolean {
    if (this.getFeature(type) !== null) return true;
    return this.#features.some((f) => f.hasSubFeature?.(type) === true);
  }

  // ── sending ───────────────────────────────────────────────────────────────────────────

  /** Sends `msg`; resolves at the response headers to the body as a stream. */
  async send(msg: Message, options: SendOptions = {}): Promise<ResponseBody> {
    const { body } = await this.#runner.run(msg, options);
    return new ResponseBody(body);
  }

  /** Sends `msg` and reads the whole response body. */
  async sendAndRead(msg: Message, options: SendOptions = {}): Promise<Uint8Array> {
    const { body } = await this.#runner.run(msg, options);
    return readAll(body);
  }

  /** Sends `msg` and writes the body into `target` with backpressure; resolves to the byte count. */
  async sendAndSplice(msg: Message, target: Writable | NodeJS.WritableStream, options: SpliceOptions = {}): Promise<number> {
    const { body } = await this.#runner.run(msg, options);
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
  readonly #sendForFetch = (msg: Message, options: SendOptions) => this.#runner.run(msg, options);

  /** Upgrades `msg` to a WebSocket through the session's message runner (libsoup's websocket_connect). */
  websocketConnect(msg: Message, options: WebsocketConnectOptions = {}): Promise<WebsocketConnection> {
    this.#assertOpen();
    return websocketConnect(this.#runner, msg, options);
  }

  /**
   * Opens an idle connection to msg's origin (or keeps one that is open). A request to that
   * origin made while it is still connecting takes that connection over.
   */
  async preconnect(msg: Message, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertOpen();
    await this.#transport.preconnect(msg, options.signal);
  }

  /**
   * The proxy the session uses for `msg`'s current URL, or null (direct). Resolved once per
   * attempt: the transport and features (the auth manager picking proxy credentials) share
   * the answer. Rejects with PROXY_FAILED when the resolver's answer is not a proxy URL.
   */
  proxyFor(msg: Message): Promise<URL | null> {
    return this.#transport.proxyFor(msg);
  }

  /** Cancels every pending request (they reject with ABORTED) and closes idle connections. */
  abort(): void {
    this.#runner.abortAll(new AbortError("The session aborted the request"));
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

  #applyDefaultHeaders(msg: Message): void {
    const h = msg.requestHeaders;
    const ua = this.#userAgent;
    if (ua !== null) h.set("User-Agent", ua);
    const al = this.#acceptLanguage;
    if (al !== null && !h.has("Accept-Language")) h.set("Accept-Language", al);
  }
}

function toAbort(reason: unknown, cause?: unknown): AbortError {
  if (reason instanceof AbortError) return reason;
  return new AbortError(undefined, { cause: cause ?? reason });
}

/**
 * The session's network half: which connection a message goes over (direct, through an
 * HTTP proxy, or through a CONNECT tunnel), one attempt over it (an HTTP round trip or a
 * WebSocket handshake), and the connection settings every new connection is built from
 * (timeouts, local address, remote connectable, TLS). The runner (runner.ts) owns the
 * message lifecycle (features, restarts, redirects); this file owns the wire.
 *
 * Connection ownership lives here, whole: the transport acquires a pooled connection for
 * an attempt and ties its release to the response body it hands out, at the moment it
 * hands it out. The body's 'end' puts the connection back in the pool; a body closed before
 * its end drops it. Nothing downstream (features wrapping or peeking at the body, the
 * caller, a finalizer for a body nobody read) needs to know there is a connection at all.
 *
 * HTTP/2 is negotiated by ALPN on https connections (direct or tunnelled) unless the session
 * has `http2: false` or the message FORCE_HTTP1. Those connections have their own pool key
 * (the origin + " h2"), so the HTTP/1.1 keys and their pooling stay exactly as they were;
 * an origin that answers ALPN with http/1.1 is pooled under that key like any HTTP/1.1 one.
 */
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { AbortError, NetworkError } from "../errors.js";
import type { Cancellation } from "./cancellation.js";
import { createConnector, ProxyConnectError, socketTimings } from "./connector.js";
import { h2StreamError, roundTrip, type RawResponse } from "./dispatch.js";
import { MessageHeaders } from "./headers.js";
import { type emptyMetrics, type Message, MessageFlags } from "./message.js";
import { ConnectionPool, type ClientSettings, type PoolLimits, type PooledConnection } from "./pool.js";
import { directResolver, type ProxyResolver } from "./proxy.js";
import type { AddressGuard } from "./address-guard.js";
import type { TlsDatabase, TlsInteraction } from "./session-options.js";
import { mapTransportError } from "./transport-errors.js";
import { websocketHandshake, type UpgradeOptions } from "./upgrade.js";
import type { WebsocketConnection } from "./websocket-connection.js";

/**
 * What one attempt produced: the response body (its connection, if any, is released or
 * dropped by the body's own end or close) and, for a WebSocket handshake that succeeded,
 * the open connection.
 */
export interface Transmitted {
  body: Readable;
  upgraded: WebsocketConnection | null;
}

type Metrics = ReturnType<typeof emptyMetrics>;

const kIdempotent = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
/** A body dropped for a restart is drained up to this size to keep its connection. */
const DRAIN_LIMIT = 65536;

export interface TransportSettings {
  timeout: number;
  /** Phase timeouts; null: `timeout`. */
  connectTimeout: number | null;
  headersTimeout: number | null;
  bodyTimeout: number | null;
  localAddress: string | null;
  remoteConnectable: string | null;
  proxyResolver: ProxyResolver | null;
  tlsDatabase: TlsDatabase | undefined;
  tlsInteraction: TlsInteraction | null;
  /** The opt-in guard against private and link-local addresses (blockPrivateAddresses). */
  addressGuard: AddressGuard | null;
  /** Offer HTTP/2 by ALPN on https connections. */
  http2: boolean;
}

interface Route {
  key: string;
  /** Its connections offer h2. */
  multiplex: boolean;
  settings: () => ClientSettings;
  viaHttpProxy: boolean;
  target: URL;
  proxy: URL | null;
}

export class Transport {
  readonly pool: ConnectionPool;
  /** Read when a connection opens: a change applies to connections opened after it. */
  readonly settings: TransportSettings;

  constructor(limits: PoolLimits, settings: TransportSettings) {
    this.pool = new ConnectionPool(limits);
    this.settings = settings;
  }

  /**
   * The proxy for the message's current URL (validated), or null for direct: resolved once
   * per attempt and URL, and shared by everyone who asks during that attempt (the transport
   * itself, the auth feature choosing proxy credentials).
   */
  proxyFor(msg: Message): Promise<URL | null> {
    const href = msg.url.href;
    const memo = msg._proxy;
    if (memo !== null && memo.href === href) return memo.proxy;
    const proxy = this.#resolveProxy(msg.url);
    // A failure is reported by whoever awaits it; the memo itself must not be unhandled.
    proxy.catch(() => undefined);
    msg._proxy = { href, proxy };
    return proxy;
  }

  async #resolveProxy(url: URL): Promise<URL | null> {
    const resolver = this.settings.proxyResolver;
    if (resolver === null || resolver === directResolver) return null;
    const r = resolver(toHttpUrl(url));
    const value = r instanceof Promise ? await r : r;
    if (value === null || value === undefined || value === "") return null;
    try {
      const proxy = new URL(value.includes("://") ? value : `http://${value}`);
      if (proxy.protocol !== "http:" && proxy.protocol !== "https:") throw new Error("scheme");
      return proxy;
    } catch {
      throw new NetworkError("PROXY_FAILED", "The proxy resolver returned an invalid proxy URL");
    }
  }

  /** Which pool key (and how to build its connections) a message uses. */
  #route(msg: Message, proxy: URL | null, tunnel = false): Route {
    const target = toHttpUrl(msg.url);
    const https = target.protocol === "https:";
    const viaHttpProxy = proxy !== null && !https && !tunnel;
    // A WebSocket handshake (tunnel = true) is HTTP/1.1 only.
    const multiplex = https && !tunnel && this.settings.http2 && !msg.hasFlag(MessageFlags.FORCE_HTTP1);
    const base = proxy === null ? target.origin : viaHttpProxy ? `proxy ${proxy.origin}` : `tunnel ${proxy.origin} ${target.origin}`;
    const key = multiplex ? `${base} h2` : base;
    const settings = (): ClientSettings => ({
      origin: viaHttpProxy ? proxy!.origin : target.origin,
      idleTimeout: this.pool.limits.idleTimeout,
      timeout: this.settings.timeout,
      connector: this.#connector(msg, target, proxy, tunnel, multiplex),
      allowH2: multiplex,
    });
    return { key, multiplex, settings, viaHttpProxy, target, proxy };
  }

  #connector(msg: Message, target: URL, proxy: URL | null, tunnel: boolean, allowH2 = false) {
    const s = this.settings;
    return createConnector({
      target,
      proxy,
      tunnel,
      timeout: s.connectTimeout ?? s.timeout,
      localAddress: s.localAddress ?? undefined,
      remoteConnectable: s.remoteConnectable ?? undefined,
      tls: { ca: s.tlsDatabase, cert: s.tlsInteraction?.cert, key: s.tlsInteraction?.key, passphrase: s.tlsInteraction?.passphrase },
      addressGuard: s.addressGuard,
      proxyAuthorization: () => msg.requestHeaders.get("Proxy-Authorization"),
      allowH2,
    });
  }

  #acquire(msg: Message, route: Route, signal: Cancellation | undefined, newConnection: boolean): Promise<PooledConnection> {
    return this.pool.acquire(route.key, route.settings, {
      priority: msg.priority,
      signal,
      newConnection,
      multiplex: route.multiplex,
      waitTimeout: this.settings.timeout,
      label: route.target.origin,
    });
  }

  /** Opens an idle connection to msg's origin (or keeps one that is open). */
  async preconnect(msg: Message, signal?: AbortSignal): Promise<void> {
    const route = this.#route(msg, await this.proxyFor(msg));
    if (signal?.aborted) throw new AbortError();
    await this.pool.preconnect(route.key, route.settings);
  }

  /** One network round trip for the message's current URL. */
  async transmit(msg: Message, signal: Cancellation, metrics: Metrics | null): Promise<Transmitted> {
    const route = this.#route(msg, await this.proxyFor(msg));
    const { viaHttpProxy, target, proxy } = route;
    let retried = false;
    let goawayRetried = false;
    for (;;) {
      const conn = await this.#acquire(msg, route, signal, msg.hasFlag(MessageFlags.NEW_CONNECTION) || retried);
      const reused = !conn.fresh;
      const fresh = conn.fresh;
      const headers = msg.requestHeaders._flat as string[];
      const sendHeaders = viaHttpProxy
        ? [...headers, "host", target.host]
        : proxy !== null
          ? headers.filter((_, i, a) => !/^proxy-authorization$/i.test(a[i - (i % 2)]))
          : headers;
      const body = msg.requestBody;
      if (body !== null && !msg.bodyReplayable) msg._markBodyUsed();
      const socketBefore = conn.socket ? { r: conn.socket.bytesRead, w: conn.socket.bytesWritten } : { r: 0, w: 0 };
      if (metrics) {
        metrics.requestStart = performance.now();
        metrics.requestBodySize = typeof body === "string" ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;
      }
      let res: RawResponse;
      try {
        res = await roundTrip(
          conn.client,
          {
            path: viaHttpProxy ? target.href.replace(/#.*$/, "") : target.pathname + target.search,
            method: msg.method as Dispatcher.HttpMethod,
            headers: sendHeaders,
            body: (body !== null && !msg.bodyReplayable && msg.listenerCount("upload-progress") > 0
              ? countUpload(msg, body as AsyncIterable<Uint8Array>)
              : body) as Dispatcher.DispatchOptions["body"],
            blocking: false,
            headersTimeout: this.settings.headersTimeout ?? this.settings.timeout,
            bodyTimeout: this.settings.bodyTimeout ?? this.settings.timeout,
          },
          signal,
        );
      } catch (err) {
        this.pool.discard(conn);
        const e = err instanceof ProxyConnectError ? err : conn.h2 ? h2Error(conn, err) : mapTransportError(err);
        const safe0 = msg.hasFlag(MessageFlags.IDEMPOTENT) || kIdempotent.has(msg.method);
        // A GOAWAY ended the stream before it was answered: an idempotent request goes once
        // more, on another connection (the one that sent GOAWAY takes no new streams).
        if (!goawayRetried && !signal.aborted && safe0 && msg.bodyReplayable && e instanceof NetworkError && e.code === "GOAWAY") {
          goawayRetried = true;
          continue;
        }
        // A reused keep-alive connection may have been closed by the server just as we sent:
        // retry once on a fresh connection when that is safe (libsoup's IDEMPOTENT rule).
        const safe = msg.hasFlag(MessageFlags.IDEMPOTENT) || kIdempotent.has(msg.method);
        if (!retried && reused && !signal.aborted && safe && msg.bodyReplayable && e instanceof NetworkError && e.code === "CONNECTION_RESET") {
          retried = true;
          continue;
        }
        throw e;
      }
      this.#own(conn, res.body);
      if (body !== null && msg.bodyReplayable && msg.listenerCount("upload-progress") > 0) {
        // A body in memory went out whole before the answer came.
        const size = typeof body === "string" ? Buffer.byteLength(body) : (body as Uint8Array).byteLength;
        msg.emit("upload-progress", { bytes: size, total: size });
      }
      const version = conn.h2 ? "2" : msg.httpVersion === "2" ? "1.1" : undefined;
      msg._setResponse(res.status, res.statusText, MessageHeaders._fromFlat(res.headers), version);
      if (metrics) this.#fillMetrics(metrics, conn, fresh, socketBefore, res, sendHeaders);
      return { body: res.body, upgraded: null };
    }
  }

  /**
   * One WebSocket handshake for the message's current URL. It holds a place in the pool for
   * the handshake (so the session's limits, priorities and waiting-time timeout apply as to
   * any request), through the same proxy answer and TLS settings; the upgraded socket then
   * leaves the pool, as libsoup steals it from its connection manager.
   */
  async upgrade(msg: Message, signal: Cancellation, options: UpgradeOptions): Promise<Transmitted> {
    // An upgrade cannot be proxied in absolute form: through a proxy it always tunnels.
    const route = this.#route(msg, await this.proxyFor(msg), true);
    const slot = await this.#acquire(msg, route, signal, true);
    try {
      return await websocketHandshake(msg, route.settings().connector, signal, this.settings.timeout, options);
    } finally {
      this.pool.discard(slot);
    }
  }

  /** Ties the connection's return to the pool to the end of `body`; any other close drops it. */
  #own(conn: PooledConnection, body: Readable): void {
    let done = false;
    body.once("end", () => {
      done = true;
      this.pool.release(conn);
    });
    body.once("close", () => {
      if (done) return;
      done = true;
      this.pool.discard(conn);
    });
  }

  #fillMetrics(m: Metrics, conn: PooledConnection, fresh: boolean, before: { r: number; w: number }, res: RawResponse, sent: string[]): void {
    const body = res.body;
    m.responseStart = performance.now();
    const socket = conn.socket;
    const t = socket ? socketTimings.get(socket) : undefined;
    if (t && fresh) {
      m.dnsStart = t.dnsStart;
      m.dnsEnd = t.dnsEnd;
      m.connectStart = t.connectStart;
      m.connectEnd = t.connectEnd;
      m.tlsStart = t.tlsStart;
    }
    let bodyBytes = 0;
    body.on("data", (c: Buffer) => (bodyBytes += c.length));
    body.once("end", () => {
      m.responseEnd = performance.now();
      m.responseBodyBytesReceived = bodyBytes;
      m.responseBodySize = bodyBytes;
      if (conn.h2) {
        // The socket carries other streams too: count this exchange's own header fields
        // (before HPACK compression) and body.
        let h = 0;
        for (const f of res.headers) h += f.length + 2;
        m.responseHeaderBytesReceived = h;
        m.requestBodyBytesSent = m.requestBodySize;
        let q = 0;
        for (const f of sent) q += f.length + 2;
        m.requestHeaderBytesSent = q;
      } else if (socket) {
        const read = socket.bytesRead - (conn.fresh ? 0 : before.r);
        const written = socket.bytesWritten - (conn.fresh ? 0 : before.w);
        m.responseHeaderBytesReceived = Math.max(0, read - bodyBytes);
        const reqBody = m.requestBodySize;
        m.requestBodyBytesSent = reqBody;
        m.requestHeaderBytesSent = Math.max(0, written - reqBody);
      }
    });
  }
}

/**
 * Drops a response body that will not be handed out (a restart or redirect). Small bodies
 * are read to their end so that their connection is kept; past DRAIN_LIMIT it is closed.
 */
export function discardBody(body: Readable): void {
  if (body.readableEnded || body.destroyed) return;
  let seen = Number(body.readableLength);
  body.on("data", (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_LIMIT) body.destroy();
  });
  body.on("error", () => undefined);
  body.resume();
}

/** A stream request body that reports how much of it was handed to the connection. */
async function* countUpload(msg: Message, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of body) {
    bytes += chunk.byteLength;
    msg.emit("upload-progress", { bytes, total: null });
    yield chunk;
  }
}

/**
 * The typed error of a failed request on an h2 connection: GOAWAY when the connection got
 * one (whatever undici made of the teardown), STREAM_RESET for a reset stream.
 */
function h2Error(conn: PooledConnection, err: unknown): Error {
  const mapped = h2StreamError(err) ?? mapTransportError(err);
  if (conn.goaway && mapped instanceof NetworkError) {
    return new NetworkError("GOAWAY", "The server sent GOAWAY (HTTP/2) before answering this request", { cause: err });
  }
  return mapped;
}

/** ws:/wss: URLs travel as http:/https: for the HTTP part (the upgrade). */
export function toHttpUrl(url: URL): URL {
  if (url.protocol === "ws:" || url.protocol === "wss:") {
    const u = new URL(url.href);
    u.protocol = url.protocol === "ws:" ? "http:" : "https:";
    return u;
  }
  return url;
}

/**
 * The session's network half: which connection a message goes over (direct, through an
 * HTTP proxy, or through a CONNECT tunnel), one round trip over it, and the connection
 * settings every new connection is built from (timeouts, local address, remote
 * connectable, TLS). The Session owns the message lifecycle (features, restarts,
 * redirects); this file owns the wire. Settings are plain fields: the Session validates
 * them in its property setters and writes them here, and new connections use the values
 * current when they open.
 */
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { AbortError, NetworkError } from "../errors.js";
import type { Cancellation } from "./cancellation.js";
import { createConnector, ProxyConnectError, socketTimings } from "./connector.js";
import { MessageHeaders } from "./headers.js";
import { type emptyMetrics, type Message, MessageFlags } from "./message.js";
import { ConnectionPool, type ClientSettings, type PoolLimits, type PooledConnection } from "./pool.js";
import { directResolver, type ProxyResolver } from "./proxy.js";
import type { TlsDatabase, TlsInteraction } from "./session-options.js";
import { mapTransportError } from "./transport-errors.js";

/** A response as the transport got it: the body stream and the connection it holds (null: not from the network). */
export interface Transmitted {
  conn: PooledConnection | null;
  body: Readable;
}

type Metrics = ReturnType<typeof emptyMetrics>;

const kIdempotent = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export interface TransportSettings {
  timeout: number;
  localAddress: string | null;
  remoteConnectable: string | null;
  proxyResolver: ProxyResolver | null;
  tlsDatabase: TlsDatabase | undefined;
  tlsInteraction: TlsInteraction | null;
}

export class Transport {
  readonly pool: ConnectionPool;
  /** Read when a connection opens: a change applies to connections opened after it. */
  readonly settings: TransportSettings;

  constructor(limits: PoolLimits, settings: TransportSettings) {
    this.pool = new ConnectionPool(limits);
    this.settings = settings;
  }

  /** Opens an idle connection to msg's origin (or keeps one that is open). */
  async preconnect(msg: Message, signal?: AbortSignal): Promise<void> {
    const proxy = await this.resolveProxy(msg.url);
    const { key, settings } = this.route(msg, proxy);
    if (signal?.aborted) throw new AbortError();
    await this.pool.preconnect(key, settings);
  }

  /** The proxy for `url` (validated), or null for direct. */
  async resolveProxy(url: URL): Promise<URL | null> {
    const resolver = this.settings.proxyResolver;
    if (resolver === null || resolver === directResolver) return null;
    const r = resolver(url);
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
  route(msg: Message, proxy: URL | null): { key: string; settings: () => ClientSettings; viaHttpProxy: boolean; target: URL } {
    const target = toHttpUrl(msg.url);
    const https = target.protocol === "https:";
    const viaHttpProxy = proxy !== null && !https;
    const key = proxy === null ? target.origin : https ? `tunnel ${proxy.origin} ${target.origin}` : `proxy ${proxy.origin}`;
    const settings = (): ClientSettings => ({
      origin: viaHttpProxy ? proxy!.origin : target.origin,
      idleTimeout: this.pool.limits.idleTimeout,
      timeout: this.settings.timeout,
      connector: createConnector({
        target,
        proxy,
        timeout: this.settings.timeout,
        localAddress: this.settings.localAddress ?? undefined,
        remoteConnectable: this.settings.remoteConnectable ?? undefined,
        tls: {
          ca: this.settings.tlsDatabase,
          cert: this.settings.tlsInteraction?.cert,
          key: this.settings.tlsInteraction?.key,
          passphrase: this.settings.tlsInteraction?.passphrase,
        },
        proxyAuthorization: () => msg.requestHeaders.get("Proxy-Authorization"),
      }),
    });
    return { key, settings, viaHttpProxy, target };
  }

  /** One network round trip for the message's current URL. */
  async transmit(msg: Message, signal: Cancellation, metrics: Metrics | null): Promise<Transmitted> {
    const proxy = await this.resolveProxy(msg.url);
    const { key, settings, viaHttpProxy, target } = this.route(msg, proxy);
    let retried = false;
    for (;;) {
      const conn = await this.pool.acquire(key, settings, {
        priority: msg.priority,
        signal,
        newConnection: msg.hasFlag(MessageFlags.NEW_CONNECTION) || retried,
      });
      const reused = !conn.fresh;
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
      let res: Dispatcher.ResponseData;
      try {
        res = await conn.client.request({
          path: viaHttpProxy ? target.href.replace(/#.*$/, "") : target.pathname + target.search,
          method: msg.method as Dispatcher.HttpMethod,
          headers: sendHeaders,
          body: body as Dispatcher.DispatchOptions["body"],
          signal: signal.signal,
          blocking: false,
        });
      } catch (err) {
        this.pool.discard(conn);
        const e = err instanceof ProxyConnectError ? err : mapTransportError(err);
        // A reused keep-alive connection may have been closed by the server just as we sent:
        // retry once on a fresh connection when that is safe (libsoup's IDEMPOTENT rule).
        const safe = msg.hasFlag(MessageFlags.IDEMPOTENT) || kIdempotent.has(msg.method);
        if (!retried && reused && !signal.aborted && safe && msg.bodyReplayable && e instanceof NetworkError && e.code === "CONNECTION_RESET") {
          retried = true;
          continue;
        }
        throw e;
      }
      msg.status = res.statusCode;
      msg.reasonPhrase = (res as { statusText?: string }).statusText ?? "";
      msg.responseHeaders = MessageHeaders.fromUndici(res.headers as Record<string, string | string[]>);
      if (metrics) this.#fillMetrics(metrics, conn, socketBefore, res.body);
      return { conn, body: res.body };
    }
  }

  #fillMetrics(m: Metrics, conn: PooledConnection, before: { r: number; w: number }, body: Readable): void {
    m.responseStart = performance.now();
    const socket = conn.socket;
    const t = socket ? socketTimings.get(socket) : undefined;
    if (t && conn.fresh) {
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
      if (socket) {
        const read = socket.bytesRead - (conn.fresh ? 0 : before.r);
        const written = socket.bytesWritten - (conn.fresh ? 0 : before.w);
        m.responseHeaderBytesReceived = Math.max(0, read - bodyBytes);
        const reqBody = m.requestBodySize;
        m.requestBodyBytesSent = reqBody;
        m.requestHeaderBytesSent = Math.max(0, written - reqBody);
      }
    });
  }

  /** Drops a response body we will not hand out; small bodies are drained to keep the connection. */
  discardBody(sent: Transmitted): void {
    const { body, conn } = sent;
    if (conn === null) {
      body.destroy();
      return;
    }
    const len = Number(body.readableLength);
    if (body.readableEnded) {
      this.pool.release(conn);
      return;
    }
    // Drain up to 64 KiB so the connection can be reused; beyond that, close it.
    let seen = len;
    body.on("data", (c: Buffer) => {
      seen += c.length;
      if (seen > 65536) body.destroy();
    });
    body.once("end", () => this.pool.release(conn));
    body.once("error", () => undefined);
    body.once("close", () => {
      if (!body.readableEnded) this.pool.discard(conn);
    });
  }
}

/** ws:/wss: URLs travel as http:/https: for the HTTP part (the upgrade). */
function toHttpUrl(url: URL): URL {
  if (url.protocol === "ws:" || url.protocol === "wss:") {
    const u = new URL(url.href);
    u.protocol = url.protocol === "ws:" ? "http:" : "https:";
    return u;
  }
  return url;
}

/**
 * Opens the sockets that the pool's undici Clients run on. undici's `buildConnector` does
 * the actual TCP/TLS work; this file only shapes it to the session's options: the TLS
 * database and client certificate, `localAddress`, `remoteConnectable` (connect somewhere
 * else than the URL's host) and CONNECT tunnels through an HTTP proxy for https URLs.
 * It also records libsoup's connection timestamps (DNS, connect, TLS) for metrics.
 */
import http from "node:http";
import type { Socket } from "node:net";
import tls from "node:tls";
import { buildConnector } from "undici";
import { MessageHeaders } from "./headers.js";
import { addressBlockedError, type AddressGuard } from "./address-guard.js";
import { NetworkError, TimeoutError } from "../errors.js";

export interface TlsOptions {
  /** Trusted CA certificates (PEM). undefined = Node's default store; null = trust nothing. */
  ca?: string | Buffer | Array<string | Buffer> | null;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
}

export interface ConnectorOptions {
  /** The origin the requests are for (https: means TLS to it, possibly through a tunnel). */
  target: URL;
  /** An HTTP proxy: for https targets a CONNECT tunnel is made through it. */
  proxy: URL | null;
  tls: TlsOptions;
  localAddress?: string;
  /** `host:port` or an absolute Unix socket path to connect to instead of the target. */
  remoteConnectable?: string;
  /** Connect timeout in ms (0 = none). */
  timeout: number;
  /** Tunnel through the proxy with CONNECT even for plain http (WebSocket upgrades). */
  tunnel?: boolean;
  /** Called for each CONNECT attempt to get the current Proxy-Authorization value. */
  proxyAuthorization?: () => string | null;
  /**
   * blockPrivateAddresses: refuse non-public addresses at connect time (its lookup is the
   * socket's own). Direct connections only: a configured proxy may be on a private network,
   * and through a proxy the proxy resolves names (IP-literal targets are still checked).
   */
  addressGuard?: AddressGuard | null;
  /**
   * Offer HTTP/2 by ALPN (["h2", "http/1.1"]) on TLS connections; the socket's
   * `alpnProtocol` then says what the server chose, and undici's Client reads it to speak
   * h2 or HTTP/1.1 on it.
   */
  allowH2?: boolean;
}

/** Timestamps of how a socket was made, read into msg.metrics by the session. */
export interface ConnectTimings {
  dnsStart: number;
  dnsEnd: number;
  connectStart: number;
  connectEnd: number;
  tlsStart: number;
}

export const socketTimings = new WeakMap<Socket, ConnectTimings>();

/** The proxy refused the CONNECT (e.g. 407). Carries the proxy's answer for the auth feature. */
export class ProxyConnectError extends NetworkError {
  readonly status: number;
  readonly reasonPhrase: string;
  readonly headers: MessageHeaders;
  constructor(status: number, reasonPhrase: string, headers: MessageHeaders) {
    super("PROXY_FAILED", `Proxy refused the CONNECT tunnel with ${status} ${reasonPhrase}`.trim());
    this.status = status;
    this.reasonPhrase = reasonPhrase;
    this.headers = headers;
  }
}

type ConnectCallback = (err: Error | null, socket: Socket | null) => void;
type UndiciConnect = (opts: Record<string, unknown>, cb: ConnectCallback) => void;

export type Connector = (cb: ConnectCallback) => void;

function tlsConnectorOptions(tls: TlsOptions): Record<string, unknown> {
  const out: Record<string, unknown> = { rejectUnauthorized: true };
  if (tls.ca === null) {
    // libsoup: a NULL TLS database means every certificate fails validation. A verifier
    // that always rejects does exactly that, whatever CAs Node would otherwise trust.
    out.checkServerIdentity = () => new Error("No TLS database: certificate cannot be validated");
  } else if (tls.ca !== undefined) {
    out.ca = tls.ca;
  }
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  return out;
}

function parseRemote(remote: string): { socketPath?: string; host?: string; port?: number } {
  if (remote.startsWith("/")) return { socketPath: remote };
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(remote);
  if (!m) throw new TypeError(`remoteConnectable must be "host:port" or an absolute socket path, got ${JSON.stringify(remote)}`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
}

function record(socket: Socket, timings: ConnectTimings, tls: boolean): void {
  socketTimings.set(socket, timings);
  socket.once("lookup", () => (timings.dnsEnd = performance.now()));
  socket.once("connect", () => {
    timings.connectEnd = performance.now();
    if (timings.dnsEnd === 0) timings.dnsEnd = timings.dnsStart;
    if (tls) timings.tlsStart = timings.connectEnd;
  });
}

/** Builds the connect function for one pooled connection to `opts.target`. */
export function createConnector(opts: ConnectorOptions): Connector {
  const { target, proxy } = opts;
  const isHttps = target.protocol === "https:" || target.protocol === "wss:";
  const remote = opts.remoteConnectable ? parseRemote(opts.remoteConnectable) : null;
  const tlsOpts = isHttps ? tlsConnectorOptions(opts.tls) : {};
  const guard = opts.addressGuard ?? null;
  const base = buildConnector({
    timeout: opts.timeout,
    ...(remote?.socketPath ? { socketPath: remote.socketPath } : {}),
    ...(guard && proxy === null ? { lookup: guard.lookup } : {}),
    ...tlsOpts,
  }) as unknown as UndiciConnect;
  // undici's buildConnector offers ALPN ["http/1.1", "h2"] (h1 first, whatever options say):
  // for h2 the TLS socket is made here, in the order HTTP/2 clients use.
  const h2 = opts.allowH2 === true && isHttps;
  const connect: UndiciConnect = h2
    ? alpnConnector(opts.timeout, { ...tlsOpts, ...(guard && proxy === null ? { lookup: guard.lookup } : {}) }, remote?.socketPath)
    : base;
  const targetPort = target.port || (isHttps ? "443" : "80");
  const hostname = target.hostname.replace(/^\[|\]$/g, "");

  if (proxy === null || (!isHttps && !opts.tunnel)) {
    // Direct, or plain http through a proxy (absolute-form requests to the proxy itself).
    const peer = proxy ?? target;
    const peerHttps = proxy ? proxy.protocol === "https:" : isHttps;
    const peerHost = remote?.host ?? peer.hostname.replace(/^\[|\]$/g, "");
    const peerPort = remote?.port ?? Number(peer.port || (peerHttps ? 443 : 80));
    // net.connect does not look IP literals up, so the guard's lookup never sees them.
    const literalRefused = guard && proxy === null && !remote?.socketPath && isIp(peerHost) ? guard.refuse(peerHost) : null;
    return (cb) => {
      if (literalRefused !== null) {
        process.nextTick(cb, addressBlockedError(peerHost, peerHost, literalRefused), null);
        return;
      }
      const timings: ConnectTimings = { dnsStart: performance.now(), dnsEnd: 0, connectStart: 0, connectEnd: 0, tlsStart: 0 };
      timings.connectStart = timings.dnsStart;
      const socket = (peerHttps && proxy === null ? connect : base)(
        {
          hostname: peerHost,
          host: peerHost,
          protocol: peerHttps ? "https:" : "http:",
          port: String(peerPort),
          servername: proxy ? undefined : isIp(hostname) ? undefined : hostname,
          localAddress: opts.localAddress,
        },
        (err, s) => cb(err ? mapConnectError(err) : null, s),
      ) as unknown as Socket | undefined;
      if (socket) record(socket, timings, peerHttps);
    };
  }

  // https through an HTTP proxy: CONNECT tunnel, then TLS to the target over it.
  const proxyHost = remote?.host ?? proxy.hostname.replace(/^\[|\]$/g, "");
  const proxyPort = remote?.port ?? Number(proxy.port || 80);
  if (proxy.protocol === "https:") {
    throw new TypeError("HTTPS proxies are not supported for CONNECT tunnels; use an http:// proxy URL");
  }
  const targetRefused = guard && isIp(hostname) ? guard.refuse(hostname) : null;
  return (cb) => {
    if (targetRefused !== null) {
      process.nextTick(cb, addressBlockedError(hostname, hostname, targetRefused), null);
      return;
    }
    const timings: ConnectTimings = { dnsStart: performance.now(), dnsEnd: 0, connectStart: 0, connectEnd: 0, tlsStart: 0 };
    timings.connectStart = timings.dnsStart;
    const headers: Record<string, string> = { Host: `${hostname.includes(":") ? `[${hostname}]` : hostname}:${targetPort}` };
    const auth = opts.proxyAuthorization?.() ?? null;
    if (auth) headers["Proxy-Authorization"] = auth;
    const authority = headers.Host;
    let done = false;
    const finish = (err: Error | null, s: Socket | null) => {
      if (done) return;
      done = true;
      cb(err, s);
    };
    const req = http.request({
      host: proxyHost,
      port: proxyPort,
      method: "CONNECT",
      path: authority,
      headers,
      localAddress: opts.localAddress,
      ...(remote?.socketPath ? { socketPath: remote.socketPath } : {}),
      agent: false,
      timeout: opts.timeout || undefined,
    });
    req.once("socket", (s) => record(s, timings, false));
    req.once("timeout", () => {
      req.destroy();
      finish(new TimeoutError("Timed out connecting to the proxy"), null);
    });
    req.once("error", (err) => finish(mapConnectError(err), null));
    req.once("response", (res) => {
      // A non-2xx answer to CONNECT arrives as a normal response.
      const h = MessageHeaders.fromUndici(res.headers as Record<string, string | string[]>);
      res.resume();
      finish(new ProxyConnectError(res.statusCode ?? 0, res.statusMessage ?? "", h), null);
    });
    req.once("connect", (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        finish(
          new ProxyConnectError(
            res.statusCode ?? 0,
            res.statusMessage ?? "",
            MessageHeaders.fromUndici(res.headers as Record<string, string | string[]>),
          ),
          null,
        );
        return;
      }
      if (head.length > 0) socket.unshift(head);
      if (!isHttps) {
        finish(null, socket);
        return;
      }
      timings.tlsStart = performance.now();
      const tlsSocket = connect(
        {
          hostname,
          host: hostname,
          protocol: "https:",
          port: targetPort,
          servername: isIp(hostname) ? undefined : hostname,
          httpSocket: socket,
        },
        (err, s) => finish(err ? mapConnectError(err) : null, s),
      ) as unknown as Socket | undefined;
      if (tlsSocket) socketTimings.set(tlsSocket, timings);
    });
    req.end();
  };
}

/**
 * A TLS connect function with undici's connector contract that offers ALPN
 * ["h2", "http/1.1"], with the same socket settings (no delay, keep-alive, connect timeout).
 */
function alpnConnector(timeout: number, tlsOptions: Record<string, unknown>, socketPath: string | undefined): UndiciConnect {
  return (o, cb) => {
    const hostname = o.hostname as string;
    // localAddress goes to the TCP connect (net.connect options), which tls.connect passes on.
    const socket = tls.connect({
      highWaterMark: 16384,
      ...tlsOptions,
      ...(socketPath && !o.httpSocket ? { path: socketPath } : {}),
      servername: (o.servername as string | undefined) ?? (isIp(hostname) ? undefined : hostname),
      localAddress: o.localAddress as string | undefined,
      ALPNProtocols: ["h2", "http/1.1"],
      socket: o.httpSocket as Socket | undefined,
      port: Number(o.port || 443),
      host: hostname,
    } as tls.ConnectionOptions);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    let timer: NodeJS.Timeout | undefined;
    if (timeout > 0) {
      timer = setTimeout(() => {
        const err = Object.assign(new Error(`Connect Timeout Error (${hostname}:${o.port}, timeout: ${timeout}ms)`), {
          code: "UND_ERR_CONNECT_TIMEOUT",
        });
        socket.destroy(err);
      }, timeout);
    }
    const onError = (err: Error) => {
      clearTimeout(timer);
      cb(err, null);
    };
    socket.once("error", onError);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      cb(null, socket);
    });
    return socket;
  };
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

const TLS_CODES = /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_OSSL|HOSTNAME_MISMATCH)/;

/** Maps a socket-level error to a typed sessionkit error (keeps the original as `cause`). */
export function mapConnectError(err: Error): Error {
  if (err instanceof NetworkError || err instanceof TimeoutError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (code === "UND_ERR_CONNECT_TIMEOUT") return new TimeoutError("Timed out connecting", { cause: err });
  if (TLS_CODES.test(code) || /certificate|TLS database|SSL/i.test(err.message)) {
    return new NetworkError("TLS_FAILED", `TLS handshake failed: ${err.message}`, { cause: err });
  }
  return new NetworkError("CONNECTION_FAILED", `Could not connect: ${err.message}`, { cause: err });
}

/**
 * `session.websocketConnect()` (libsoup's soup_session_websocket_connect_async). The
 * handshake runs through the session's pipeline: default headers, every feature's
 * beforeSend (cookies, auth, HSTS), the proxy resolver (CONNECT tunnel for wss), the TLS
 * settings, then gotHeaders on the answer (cookies stored, auth may restart), and
 * redirects. `ws` does the WebSocket protocol (key/accept check, framing, deflate).
 */
import WebSocket from "ws";
import type { IncomingMessage } from "node:http";
import { AbortError, SessionKitError } from "../errors.js";
import { createConnector } from "./connector.js";
import { MessageHeaders } from "./headers.js";
import type { Message } from "./message.js";
import { applyRedirect, isRedirectStatus, MAX_RESTARTS, redirectTarget } from "./redirect.js";
import type { Session } from "./session.js";
import { WebsocketConnection } from "./websocket-connection.js";
import { mapTransportError } from "./transport-errors.js";

export interface WebsocketConnectOptions {
  /** Value of the Origin header. */
  origin?: string;
  /** Subprotocols to offer (Sec-WebSocket-Protocol). */
  protocols?: string[];
  signal?: AbortSignal;
  /** Largest message accepted, in bytes. @default 100 MiB (ws's default) */
  maxPayload?: number;
  /** Offer permessage-deflate. @default true */
  perMessageDeflate?: boolean;
}

/** The server answered the upgrade with something other than 101 (`NOT_WEBSOCKET`). */
export class WebsocketError extends SessionKitError {
  readonly msg?: Message;
  constructor(code: string, message: string, msg?: Message, options?: { cause?: unknown }) {
    super(code, message, options);
    this.msg = msg;
  }
}

const MAX_ERROR_BODY = 1024 * 1024;

function wsUrl(url: URL): URL {
  const u = new URL(url.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  u.hash = "";
  return u;
}

function headerRecord(h: MessageHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of h) {
    const lower = k.toLowerCase();
    // ws sets these itself; a feature's Accept-Encoding does not apply to an upgrade.
    if (lower.startsWith("sec-websocket-") || lower === "connection" || lower === "upgrade" || lower === "accept-encoding") continue;
    out[k] = k in out ? `${out[k]}, ${v}` : v;
  }
  return out;
}

export async function websocketConnect(session: Session, msg: Message, options: WebsocketConnectOptions = {}): Promise<WebsocketConnection> {
  const { signal } = options;
  if (signal?.aborted) throw new AbortError();
  session.emit("request-queued", msg);
  const features = session.features.filter((f) => !msg.isFeatureDisabled(f));
  try {
    for (const f of features) f.requestQueued?.(msg, session);
    for (;;) {
      const ua = session.userAgent;
      if (ua !== null) msg.requestHeaders.set("User-Agent", ua);
      if (session.acceptLanguage !== null && !msg.requestHeaders.has("Accept-Language"))
        msg.requestHeaders.set("Accept-Language", session.acceptLanguage);
      for (const f of features) await f.beforeSend?.(msg, session);
      const outcome = await attempt(session, msg, options);
      if (outcome.kind === "open") {
        for (const f of features) await f.gotHeaders?.(msg, session);
        return outcome.connection;
      }
      let restart = false;
      for (const f of features) if ((await f.gotHeaders?.(msg, session)) === "restart") restart = true;
      const redirect = !restart && isRedirectStatus(msg.status) && msg.method === "GET";
      if ((restart || redirect) && ++msg.restartCount <= MAX_RESTARTS) {
        if (redirect) applyRedirect(msg, redirectTarget(msg));
        msg._resetResponse();
        for (const f of features) f.restarted?.(msg, session);
        msg.emit("restarted");
        continue;
      }
      if (restart || redirect) throw new WebsocketError("TOO_MANY_REDIRECTS", `Gave up after ${MAX_RESTARTS} restarts`, msg);
      throw new WebsocketError("NOT_WEBSOCKET", `The server answered the WebSocket upgrade with ${msg.status}`, msg);
    }
  } catch (err) {
    const e = err instanceof SessionKitError ? err : mapTransportError(err);
    for (const f of features) f.failed?.(msg, e, session);
    throw e;
  } finally {
    for (const f of features) f.requestUnqueued?.(msg, session);
    session.emit("request-unqueued", msg);
    msg.emit("finished");
  }
}

type Outcome = { kind: "open"; connection: WebsocketConnection } | { kind: "response" };

async function attempt(session: Session, msg: Message, options: WebsocketConnectOptions): Promise<Outcome> {
  const target = wsUrl(msg.url);
  const httpTarget = new URL(target.href.replace(/^ws/, "http"));
  const resolver = session.proxyResolver;
  const proxyValue = resolver ? await resolver(httpTarget) : null;
  const proxy = proxyValue ? new URL(proxyValue.includes("://") ? proxyValue : `http://${proxyValue}`) : null;
  const tls = session.tlsInteraction;
  const connector = createConnector({
    // For ws:// through a proxy a CONNECT tunnel is needed too (an upgrade cannot be proxied
    // in absolute form), so present the target as secure-or-not but always tunnel.
    target: httpTarget,
    proxy,
    tunnel: true,
    timeout: session.timeout,
    localAddress: session.localAddress ?? undefined,
    remoteConnectable: session.remoteConnectable ?? undefined,
    tls: { ca: session.tlsDatabase, cert: tls?.cert, key: tls?.key, passphrase: tls?.passphrase },
    proxyAuthorization: () => msg.requestHeaders.get("Proxy-Authorization"),
  });

  return new Promise<Outcome>((resolve, reject) => {
    const ws = new WebSocket(target, options.protocols ?? [], {
      headers: headerRecord(msg.requestHeaders),
      origin: options.origin,
      maxPayload: options.maxPayload,
      perMessageDeflate: options.perMessageDeflate ?? true,
      followRedirects: false,
      handshakeTimeout: session.timeout > 0 ? session.timeout : undefined,
      createConnection: ((_opts: unknown, cb: (err: Error | null, s?: unknown) => void) => {
        connector((err, socket) => (err ? cb(err) : cb(null, socket)));
        return undefined;
      }) as never,
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => {
      ws.terminate();
      settle(() => reject(new AbortError()));
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const fill = (res: IncomingMessage) => {
      msg.status = res.statusCode ?? 0;
      msg.reasonPhrase = res.statusMessage ?? "";
      msg.responseHeaders = MessageHeaders.fromUndici(res.headers as Record<string, string | string[]>);
    };
    ws.once("upgrade", (res) => fill(res));
    ws.once("open", () => settle(() => resolve({ kind: "open", connection: new WebsocketConnection(ws, target) })));
    ws.once("unexpected-response", (_req, res) => {
      fill(res);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ERROR_BODY) chunks.push(c);
        else res.destroy();
      });
      const done = () => {
        msg.responseBody = new Uint8Array(Buffer.concat(chunks));
        ws.terminate();
        settle(() => resolve({ kind: "response" }));
      };
      res.once("end", done);
      res.once("close", done);
      res.once("error", done);
    });
    ws.once("error", (err) => {
      const e = (err as { status?: number }).status !== undefined ? err : mapTransportError(err);
      if ((e as { code?: string }).code === "PROXY_FAILED" && "status" in (err as object)) {
        const pe = err as unknown as { status: number; reasonPhrase: string; headers: MessageHeaders };
        msg.status = pe.status;
        msg.reasonPhrase = pe.reasonPhrase;
        msg.responseHeaders = pe.headers;
        settle(() => resolve({ kind: "response" }));
        return;
      }
      settle(() => reject(e));
    });
  });
}

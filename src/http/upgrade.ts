/**
 * One WebSocket handshake: the upgrade kind of attempt (transport.ts calls it the way it
 * makes an HTTP round trip). `ws` speaks the protocol (the key/accept check, subprotocol
 * and extension negotiation, framing, permessage-deflate) over a socket that the session's
 * own connector makes, so the proxy (always a CONNECT tunnel for an upgrade), TLS database,
 * client certificate, local address and remote connectable apply as to any request.
 *
 * Everything else belongs to the runner: default headers, features' beforeSend and
 * gotHeaders, auth challenges, redirects, restarts. This file only reports what the server
 * answered: 101 (an open connection), or any other status with its headers and body.
 */
import type { IncomingMessage } from "node:http";
import { PassThrough, Readable } from "node:stream";
import type WebSocketType from "ws";
import { AbortError } from "../errors.js";
import type { Cancellation } from "./cancellation.js";
import { ProxyConnectError, type Connector } from "./connector.js";
import { MessageHeaders } from "./headers.js";
import type { Message } from "./message.js";
import type { Transmitted } from "./transport.js";
import { mapTransportError } from "./transport-errors.js";
import { WebsocketConnection } from "./websocket-connection.js";

/** The handshake options of `session.websocketConnect()` (see WebsocketConnectOptions). */
export interface UpgradeOptions {
  origin?: string;
  protocols?: string[];
  maxPayload?: number;
  perMessageDeflate?: boolean;
}

/** The URL ws connects to: ws:/wss:, no fragment, and no userinfo (see below). */
function wsUrl(url: URL): URL {
  const u = new URL(url.href);
  if (u.protocol === "http:") u.protocol = "ws:";
  else if (u.protocol === "https:") u.protocol = "wss:";
  u.hash = "";
  // ws would send URL credentials as preemptive Basic to any server. Credentials in the
  // URL are the AuthManager's to use when challenged, as libsoup does (and as for requests).
  u.username = "";
  u.password = "";
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

/**
 * `ws` is loaded on the first handshake, not when the session module loads: a program (or
 * the CLI) that never upgrades does not pay for it.
 */
let wsModule: Promise<typeof WebSocketType> | null = null;
const loadWs = (): Promise<typeof WebSocketType> => (wsModule ??= import("ws").then((m) => m.default));

export async function websocketHandshake(
  msg: Message,
  connector: Connector,
  signal: Cancellation,
  timeout: number,
  options: UpgradeOptions,
): Promise<Transmitted> {
  const target = wsUrl(msg.url);
  const WebSocket = await loadWs();
  return new Promise<Transmitted>((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortError());
      return;
    }
    const ws = new WebSocket(target, options.protocols ?? [], {
      headers: headerRecord(msg.requestHeaders),
      origin: options.origin,
      maxPayload: options.maxPayload,
      perMessageDeflate: options.perMessageDeflate ?? true,
      followRedirects: false,
      handshakeTimeout: timeout > 0 ? timeout : undefined,
      createConnection: ((_opts: unknown, cb: (err: Error | null, s?: unknown) => void) => {
        connector((err, socket) => (err ? cb(err) : cb(null, socket)));
        return undefined;
      }) as never,
    });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => {
      ws.terminate();
      settle(() => reject(new AbortError()));
    };
    signal.addEventListener("abort", onAbort);
    const fill = (res: IncomingMessage) =>
      msg._setResponse(res.statusCode ?? 0, res.statusMessage ?? "", MessageHeaders.fromUndici(res.headers as Record<string, string | string[]>));
    ws.once("upgrade", fill);
    ws.once("open", () => settle(() => resolve({ body: Readable.from([]), upgraded: new WebsocketConnection(ws, target) })));
    ws.once("unexpected-response", (_req, res) => {
      fill(res);
      // The answer's body goes to the runner like any response body: features may look at
      // it (a credential session's "token expired"), the caller gets it on NOT_WEBSOCKET.
      const body = new PassThrough();
      res.pipe(body);
      res.once("error", (err) => body.destroy(mapTransportError(err, "body")));
      body.once("close", () => ws.terminate());
      settle(() => resolve({ body, upgraded: null }));
    });
    ws.once("error", (err) => {
      // The proxy refused the CONNECT (e.g. 407): the runner shows it to the features.
      if (err instanceof ProxyConnectError) {
        settle(() => reject(err));
        return;
      }
      settle(() => reject(mapTransportError(err)));
    });
  });
}

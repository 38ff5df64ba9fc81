/**
 * Opens the client's WebSocket through the HTTP Session (DESIGN.md: realtime builds on
 * http's WebSocket upgrade, so proxies, cookies, auth and redirects apply to it).
 */
import { Message } from "../http/message.js";
import type { Session } from "../http/session.js";
import type { WebsocketConnection } from "../http/websocket-connection.js";

/** `ws://` and `wss://` become `http://` and `https://` for the HTTP Message. */
export function httpUrlFor(url: string): string {
  return url.replace(/^ws(s?):\/\//i, "http$1://");
}

export function openTransport(
  session: Session,
  url: string,
  protocols: string[],
  signal: AbortSignal,
  maxPayload?: number,
): Promise<WebsocketConnection> {
  // No permessage-deflate: the server does not offer it and frames are small JSON.
  return session.websocketConnect(new Message("GET", httpUrlFor(url)), { protocols, signal, maxPayload, perMessageDeflate: false });
}

/**
 * `session.websocketConnect()` (libsoup's soup_session_websocket_connect_async). The
 * handshake is one kind of attempt in the session's message runner (runner.ts), like an
 * HTTP round trip: default headers, every feature's beforeSend (cookies, auth, HSTS,
 * credential sessions), the proxy (a CONNECT tunnel), TLS, gotHeaders on the answer
 * (cookies stored, auth may restart), redirects and restarts, all by the same rules as
 * `send`. This file turns the runner's result into a connection or a NOT_WEBSOCKET error.
 */
import { SessionKitError } from "../errors.js";
import { readUpTo } from "./body.js";
import type { Message } from "./message.js";
import type { MessageRunner } from "./runner.js";
import type { UpgradeOptions } from "./upgrade.js";
import type { WebsocketConnection } from "./websocket-connection.js";

export interface WebsocketConnectOptions extends UpgradeOptions {
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

/**
 * The server answered the upgrade with something other than 101 (`NOT_WEBSOCKET`). The
 * message holds the whole answer: `msg.status`, `msg.responseHeaders`, and up to 1 MiB of
 * its body in `msg.responseBody`.
 */
export class WebsocketError extends SessionKitError {
  readonly msg?: Message;
  constructor(code: string, message: string, msg?: Message, options?: { cause?: unknown }) {
    super(code, message, options);
    this.msg = msg;
  }
}

const MAX_ERROR_BODY = 1024 * 1024;

export async function websocketConnect(runner: MessageRunner, msg: Message, options: WebsocketConnectOptions = {}): Promise<WebsocketConnection> {
  const { signal, ...upgrade } = options;
  const result = await runner.run(msg, { signal }, { kind: "upgrade", options: upgrade });
  if (result.upgraded !== null) return result.upgraded;
  const read = await readUpTo(result.body, MAX_ERROR_BODY).catch(() => null);
  if (read !== null && read.complete) msg.responseBody = read.bytes;
  else if (read !== null) read.stream.destroy();
  const text = msg.responseBody === null ? "" : describeBody(msg.responseBody);
  throw new WebsocketError(
    "NOT_WEBSOCKET",
    `The server answered the WebSocket upgrade with ${msg.status}${msg.reasonPhrase ? ` ${msg.reasonPhrase}` : ""}${text}`,
    msg,
  );
}

/** A short, printable excerpt of a refusal's body for the error message (servers explain there). */
function describeBody(body: Uint8Array): string {
  if (body.byteLength === 0) return "";
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 200))
    .toString("utf8")
    .replace(/[\x00-\x1f\x7f]+/g, " ")
    .trim();
  return text === "" ? "" : `: ${text}${body.byteLength > 200 ? "…" : ""}`;
}

/**
 * The server half of the handshake, kept apart from the server's bookkeeping: checks a
 * `hello` (version, properties, credentials, authenticator) and builds the properties of
 * the new session, or tells why it must be refused; and the two ways of turning a client
 * away (an HTTP 400 before the upgrade, a close frame after it).
 */
import { Credentials } from "./credentials.js";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { CloseReason, closeCodeOf } from "./close-reason.js";
import { checkUserProperties, type SessionProperties } from "./properties.js";
import { PROTOCOL_VERSION, SUBPROTOCOL, type HelloFrame } from "./protocol.js";

export type AuthenticationResult = boolean | { properties?: SessionProperties };

/**
 * Decides whether a client may open a session. Return `false` to refuse (ACCESS_DENIED),
 * `true` to accept, or `{ properties }` to accept and add or change user properties.
 * Fixed `$` properties cannot be set here either.
 */
export type Authenticator = (
  principal: string,
  credentials: Credentials,
  properties: Readonly<SessionProperties>,
  info: { clientIP: string },
) => AuthenticationResult | Promise<AuthenticationResult>;

export type HelloVerdict = { ok: true; principal: string; properties: SessionProperties } | { ok: false; reason: CloseReason; error?: Error };

const MAX_PRINCIPAL_LENGTH = 1024;

export async function checkHello(hello: HelloFrame, authenticator: Authenticator | undefined, clientIP: string): Promise<HelloVerdict> {
  if (hello.v !== PROTOCOL_VERSION) return { ok: false, reason: CloseReason.HANDSHAKE_REJECTED };
  if (hello.principal.length > MAX_PRINCIPAL_LENGTH) return { ok: false, reason: CloseReason.HANDSHAKE_REJECTED };
  if (checkUserProperties(hello.properties) !== undefined) return { ok: false, reason: CloseReason.HANDSHAKE_REJECTED };
  let credentials: Credentials;
  try {
    credentials = Credentials.fromPassword(hello.credentials);
  } catch {
    return { ok: false, reason: CloseReason.HANDSHAKE_ERROR };
  }
  let properties: SessionProperties = { ...hello.properties };
  if (authenticator) {
    let result: AuthenticationResult;
    try {
      result = await authenticator(hello.principal, credentials, Object.freeze({ ...properties }), { clientIP });
    } catch (err) {
      // A throwing authenticator refuses; the server reports the error to the application.
      return { ok: false, reason: CloseReason.ACCESS_DENIED, error: err instanceof Error ? err : new Error(String(err)) };
    }
    if (result === false) return { ok: false, reason: CloseReason.ACCESS_DENIED };
    if (typeof result === "object" && result !== null && result.properties !== undefined) {
      const problem = checkUserProperties(result.properties);
      if (problem !== undefined) {
        return { ok: false, reason: CloseReason.INTERNAL_ERROR, error: new TypeError(`authenticator returned bad properties: ${problem}`) };
      }
      properties = { ...properties, ...result.properties };
    } else if (result !== true && !(typeof result === "object" && result !== null)) {
      return { ok: false, reason: CloseReason.INTERNAL_ERROR, error: new TypeError("authenticator must return a boolean or { properties }") };
    }
  }
  return { ok: true, principal: hello.principal, properties };
}

/** The server-set properties; they overwrite anything with the same key. */
export function fixedProperties(sessionId: string, principal: string, clientIP: string): SessionProperties {
  return {
    $SessionId: sessionId,
    $Principal: principal,
    $ClientIP: clientIP,
    $StartTime: String(Date.now()),
    $Transport: "WEBSOCKET",
  };
}

/** Closes a socket with a reason (4000 + id), and makes sure it goes even if the peer never answers. */
export function rejectSocket(ws: WebSocket, reason: CloseReason): void {
  if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(closeCodeOf(reason), reason.name);
  // A peer that never answers the close frame must not hold the socket forever.
  setTimeout(() => ws.terminate(), 2000).unref();
}

/** Whether an upgrade's `Sec-WebSocket-Protocol` header (repeats joined by commas) offers ours. */
export function offersSubprotocol(header: string | undefined): boolean {
  return header !== undefined && header.split(",").some((p) => p.trim() === SUBPROTOCOL);
}

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 404: "Not Found" };

/** Answers an upgrade request with a plain HTTP error instead of a WebSocket, and hangs up. */
export function refuseUpgrade(socket: Duplex, message: string, status: 400 | 404 = 400): void {
  socket.on("error", () => {}); // the peer may already be gone; http no longer listens here
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

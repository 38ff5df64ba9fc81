/**
 * The WebSocket connection that `session.websocketConnect()` resolves to (libsoup's
 * SoupWebsocketConnection). It wraps a `ws` WebSocket created over the socket that the
 * session's HTTP pipeline upgraded, so proxies, cookies, auth and redirects applied to the
 * handshake. Frame protocol, masking, permessage-deflate: all `ws`.
 */
import { EventEmitter } from "node:events";
import type WebSocket from "ws";

export type WebsocketState = "OPEN" | "CLOSING" | "CLOSED";

export interface WebsocketConnectionEvents {
  message: [data: Uint8Array | string, isBinary: boolean];
  close: [code: number, reason: string];
  error: [error: Error];
  pong: [payload: Uint8Array];
  ping: [payload: Uint8Array];
}

export class WebsocketConnection extends EventEmitter<WebsocketConnectionEvents> {
  readonly #ws: WebSocket;
  /** The URL the connection was finally made to (after redirects). */
  readonly url: URL;

  constructor(ws: WebSocket, url: URL) {
    super();
    this.#ws = ws;
    this.url = url;
    ws.on("message", (data, isBinary) => {
      if (isBinary) {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        this.emit("message", new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), true);
      } else {
        this.emit("message", (data as Buffer).toString("utf8"), false);
      }
    });
    ws.on("close", (code, reason) => this.emit("close", code, reason.toString("utf8")));
    // An 'error' with no listener would crash the process; re-emit only when someone listens.
    ws.on("error", (err) => {
      if (this.listenerCount("error") > 0) this.emit("error", err);
    });
    ws.on("pong", (p) => this.emit("pong", new Uint8Array(p)));
    ws.on("ping", (p) => this.emit("ping", new Uint8Array(p)));
  }

  /** OPEN, CLOSING or CLOSED. */
  get state(): WebsocketState {
    const s = this.#ws.readyState;
    return s === 1 ? "OPEN" : s === 2 ? "CLOSING" : s === 3 ? "CLOSED" : "OPEN";
  }

  /** The subprotocol the server chose, or "" when none. */
  get protocol(): string {
    return this.#ws.protocol;
  }

  /** Negotiated extensions header value, e.g. "permessage-deflate; server_no_context_takeover". */
  get extensions(): string {
    return this.#ws.extensions;
  }

  /** Bytes queued but not yet written to the socket. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Sends a text (string) or binary (bytes) message. Resolves once written to the socket. */
  send(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#ws.send(data, { binary: typeof data !== "string" }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Sends a text message without waiting (fast path for hot loops). */
  sendNoWait(data: string | Uint8Array): void {
    this.#ws.send(data, { binary: typeof data !== "string" });
  }

  ping(payload?: Uint8Array | string): void {
    this.#ws.ping(payload);
  }

  /** Starts the closing handshake. Resolves when the connection is closed. */
  close(code = 1000, reason = ""): Promise<void> {
    if (this.#ws.readyState === 3) return Promise.resolve();
    return new Promise((resolve) => {
      this.#ws.once("close", () => resolve());
      this.#ws.close(code, reason);
    });
  }

  /** Drops the connection without a closing handshake (simulates a dead network). */
  terminate(): void {
    this.#ws.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

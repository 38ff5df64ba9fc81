/**
 * RealtimeSession: Diffusion's client `Session`. Connects to one server or a cluster
 * (a list of URLs) with a principal, credentials and properties; keeps its session id and
 * its messages across dropped sockets by resuming with a secret token and replaying what
 * the server has not acknowledged.
 *
 *   CONNECTING → CONNECTED_ACTIVE ⇄ RECOVERING_RECONNECT
 *        ↘               ↓                  ↓
 *         CLOSED_BY_CLIENT | CLOSED_BY_SERVER | CLOSED_FAILED   (with a CloseReason)
 */
import { EventEmitter } from "node:events";
import { inspect } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import { Session } from "../http/session.js";
import type { WebsocketConnection } from "../http/websocket-connection.js";
import { Channel, type Handler } from "./channel.js";
import { HandshakeFailure, openSession, shownUrl, type OpenedSocket } from "./client-handshake.js";
import { CloseReason, closeCodeOf, closeReasonFromCode } from "./close-reason.js";
import { Credentials } from "./credentials.js";
import { MessageTooLargeError, RealtimeSessionClosedError, RemoteHandlerError, UpgradeRefusedError } from "./errors.js";
import { checkUserProperties, type SessionProperties } from "./properties.js";
import {
  DEFAULT_MAX_VALUE_DEPTH,
  isValidPath,
  messageBody,
  parseFrame,
  PROTOCOL_VERSION,
  ValueTooDeep,
  type Value,
  type WelcomeFrame,
} from "./protocol.js";
import { resolveReconnect, sleep, type ResolvedReconnect } from "./reconnect.js";
import type { PingDetails, RealtimeSessionEvents, RealtimeSessionOptions, SessionState } from "./session-options.js";

export type { PingDetails, RealtimeSessionEvents, RealtimeSessionOptions, SessionState } from "./session-options.js";

export class RealtimeSession extends EventEmitter<RealtimeSessionEvents> {
  /** For the application's own use (Diffusion's session attributes). */
  readonly data = new Map<string, unknown>();
  readonly urls: readonly string[];
  readonly principal: string;
  #credentials: Credentials;
  #properties: SessionProperties;
  #state: SessionState = "CONNECTING";
  #closed = false;
  #started = false;
  #closeReason: CloseReason | undefined;
  #sessionId: string | undefined;
  #token: string | undefined;
  #serverProperties: Readonly<SessionProperties> = Object.freeze({});
  #conn: WebsocketConnection | undefined;
  #urlIndex = 0;
  #ping = 10_000;
  #maxMessageSize = Infinity;
  /** Heard from the server since the last heartbeat (a flag is cheaper than the clock per frame). */
  #heard = false;
  #silentBeats = 0;
  #lastBeat = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Pings waiting for their pong, oldest first (pongs come back in order on one socket). */
  #pings: Array<{ answered: () => void; reject: (e: Error) => void }> = [];
  #handlers = new Map<string, Handler>();
  #channel: Channel;
  #reconnect: ResolvedReconnect;
  #connectTimeout: number;
  #requestTimeout: number;
  #maxValueDepth: number;
  #http: Session;
  #ownsHttp: boolean;
  #cancel = new AbortController();

  constructor(url: string | readonly string[], options: RealtimeSessionOptions = {}) {
    super();
    const urls = typeof url === "string" ? [url] : [...url];
    if (urls.length === 0) throw new InvalidArgumentError("RealtimeSession needs at least one URL");
    for (const u of urls) if (!/^(wss?|https?):\/\//i.test(u)) throw new InvalidArgumentError(`not a ws:// or wss:// URL: ${JSON.stringify(u)}`);
    this.urls = urls;
    this.principal = options.principal ?? "";
    this.#credentials = options.credentials instanceof Credentials ? options.credentials : new Credentials(options.credentials);
    const problem = checkUserProperties(options.properties);
    if (problem) throw new InvalidArgumentError(`options.properties: ${problem}`);
    this.#properties = { ...options.properties };
    this.#reconnect = resolveReconnect(options.reconnect);
    this.#connectTimeout = options.connectTimeout ?? 10_000;
    this.#requestTimeout = options.requestTimeout ?? 30_000;
    this.#maxValueDepth = options.maxValueDepth ?? DEFAULT_MAX_VALUE_DEPTH;
    if (!Number.isInteger(this.#maxValueDepth) || this.#maxValueDepth <= 0)
      throw new InvalidArgumentError("options.maxValueDepth must be a positive integer");
    this.#http = options.httpSession ?? new Session();
    this.#ownsHttp = options.httpSession === undefined;
    this.#channel = new Channel({
      replayBufferSize: options.replayBufferSize ?? 10_000,
      onMessage: (path, value) => {
        const h = this.#handlers.get(path);
        if (!h) return;
        try {
          const r = h(value, path);
          if (r instanceof Promise) r.catch((err: unknown) => this.#handlerError(err, path));
        } catch (err) {
          this.#handlerError(err, path);
        }
      },
      onRequest: (path, value) => {
        const h = this.#handlers.get(path);
        if (!h) throw new RemoteHandlerError("NO_HANDLER", `No handler for "${path}"`);
        return h(value, path);
      },
      onLost: () => this.#fail(CloseReason.LOST_MESSAGES),
      onError: (err) => this.#handlerError(err, ""),
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  /** `xxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx` once connected. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** The properties the server gave the session, fixed `$` ones included. */
  get properties(): Readonly<SessionProperties> {
    return this.#serverProperties;
  }

  /** Why the session closed, once it has. */
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Opens the session. `properties` are added to those given to the constructor. */
  async connect(properties?: SessionProperties): Promise<this> {
    if (this.#started) throw new InvalidArgumentError("connect() can be called once");
    this.#started = true;
    const problem = checkUserProperties(properties);
    if (problem) throw new InvalidArgumentError(`properties: ${problem}`);
    Object.assign(this.#properties, properties);
    const hello = JSON.stringify({
      t: "hello",
      v: PROTOCOL_VERSION,
      principal: this.principal,
      credentials: this.#credentials.password,
      properties: this.#properties,
    });
    let last: HandshakeFailure | undefined;
    let lastUrl = this.urls[0]!;
    for (let i = 0; i < this.urls.length && !this.isClosed; i++) {
      try {
        const opened = await openSession(this.#http, this.urls[i]!, hello, this.#connectTimeout, this.#cancel.signal, this.#maxValueDepth);
        const { conn, answer } = opened;
        if (this.isClosed) {
          conn.terminate();
          break;
        }
        const welcome = answer as WelcomeFrame;
        this.#sessionId = welcome.sessionId;
        this.#token = welcome.token;
        this.#serverProperties = Object.freeze({ ...welcome.properties });
        this.#urlIndex = i;
        if (!this.#use(opened, welcome)) break; // failed at once (e.g. LOST_MESSAGES)
        this.#setState("CONNECTED_ACTIVE");
        this.emit("connected");
        return this;
      } catch (err) {
        if (!(err instanceof HandshakeFailure)) throw err;
        last = err;
        lastUrl = this.urls[i]!;
        // Refused: another node would say the same. Except when this one is full.
        if (err.reason && err.reason !== CloseReason.TOO_MANY_SESSIONS) break;
      }
    }
    const reason = this.isClosed
      ? (this.#closeReason ?? CloseReason.CLOSED_BY_CLIENT)
      : (last?.reason ?? (last?.timedOut ? CloseReason.CONNECTION_TIMEOUT : CloseReason.CONNECTION_ERROR));
    this.#fail(reason);
    if (last?.answer && reason === CloseReason.CONNECTION_ERROR) {
      // Say what the server answered (e.g. 404 and the path it serves), not just "could not connect".
      throw new UpgradeRefusedError(shownUrl(lastUrl), last.answer, { cause: last.cause });
    }
    throw new RealtimeSessionClosedError(reason, reason.message, { cause: last?.cause });
  }

  /** Sends a one-way message. While reconnecting it is kept and sent on recovery. */
  send(path: string, value: Value): void {
    this.#channel.sendBody(this.#body("m", path, value));
  }

  /** Sends a request and resolves to the server handler's answer. */
  request(path: string, value: Value, options: { timeout?: number } = {}): Promise<Value> {
    let body: string;
    try {
      body = this.#body("q", path, value);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#channel.requestBody(path, body, options.timeout ?? this.#requestTimeout);
  }

  /** Handles messages the server pushes to `path`. Returns a remover. */
  addHandler(path: string, handler: (value: Value, path: string) => unknown): () => void {
    if (!isValidPath(path)) throw new InvalidArgumentError("path must be a non-empty string");
    if (typeof handler !== "function") throw new InvalidArgumentError("handler must be a function");
    this.#handlers.set(path, handler);
    return () => {
      if (this.#handlers.get(path) === handler) this.#handlers.delete(path);
    };
  }

  /** Measures the round trip to the server. */
  pingServer(): Promise<PingDetails> {
    if (this.#state !== "CONNECTED_ACTIVE" || !this.#conn) {
      return Promise.reject(new RealtimeSessionClosedError(this.#closeReason ?? CloseReason.TRANSPORT_ERROR, `Cannot ping in state ${this.#state}`));
    }
    const ts = Date.now();
    const start = performance.now();
    return new Promise<PingDetails>((resolve, reject) => {
      this.#pings.push({ answered: () => resolve({ timestamp: ts, rtt: performance.now() - start }), reject });
      this.#conn!.sendNoWait(JSON.stringify({ t: "ping", ts }));
    });
  }

  /** Closes the session for good (CLOSED_BY_CLIENT). */
  async close(): Promise<void> {
    if (this.isClosed) return;
    await this.#end("CLOSED_BY_CLIENT", CloseReason.CLOSED_BY_CLIENT);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Checks state, path and size, and serialises once (the same string is sent and replayed). */
  #body(kind: "m" | "q", path: string, value: Value): string {
    if (this.isClosed) throw new RealtimeSessionClosedError(this.#closeReason!, `The session is closed (${this.#closeReason!.name})`);
    if (!isValidPath(path)) throw new InvalidArgumentError("path must be a non-empty string of at most 1024 characters");
    const body = messageBody(kind, path, value);
    // A UTF-16 unit is at most 3 UTF-8 bytes: only count bytes when it could matter.
    if (body.length * 3 + 32 > this.#maxMessageSize) {
      const size = Buffer.byteLength(body) + 32; // + the sequence number wrapper
      if (size > this.#maxMessageSize) throw new MessageTooLargeError(size, this.#maxMessageSize);
    }
    return body;
  }

  /** Starts using a socket whose handshake succeeded. */
  #use(opened: OpenedSocket, answer: { ping: number; maxMessageSize: number; ack: number }): boolean {
    const conn = opened.conn;
    this.#conn = conn;
    this.#ping = answer.ping > 0 ? answer.ping : 10_000;
    this.#maxMessageSize = answer.maxMessageSize > 0 ? answer.maxMessageSize : Infinity;
    this.#heard = true;
    this.#silentBeats = 0;
    conn.on("message", (data, isBinary) => this.#onFrame(conn, data, isBinary));
    conn.on("pong", () => {
      this.#heard = true;
    });
    conn.on("close", (code) => this.#onClose(conn, code));
    this.#channel.attach((text) => conn.sendNoWait(text));
    clearInterval(this.#heartbeat);
    // Beats every half period, pinging each time, and three silent beats in a row mean
    // the connection is dead: that is noticed 1.5 to 2 ping periods after the last word.
    this.#lastBeat = performance.now();
    this.#heartbeat = setInterval(() => this.#beat(conn), this.#ping / 2).unref();
    if (!this.#channel.resume(answer.ack)) {
      opened.takeEarlyFrames();
      this.#fail(CloseReason.LOST_MESSAGES);
      return false;
    }
    for (const [data, isBinary] of opened.takeEarlyFrames()) this.#onFrame(conn, data, isBinary);
    // The socket may have closed right behind the answer, before our 'close' listener.
    if (conn.state === "CLOSED" && this.#conn === conn) queueMicrotask(() => this.#onClose(conn, 1006));
    return !this.isClosed;
  }

  #beat(conn: WebsocketConnection): void {
    if (this.#conn !== conn) return;
    if (conn.state === "CLOSED") return this.#onClose(conn, 1006);
    // A beat that comes late means this process was stalled: the server's frames may be
    // unread in the socket (timers run before I/O), so silence proves nothing this time.
    const now = performance.now();
    const stalled = now - this.#lastBeat > 0.75 * this.#ping;
    this.#lastBeat = now;
    // Nothing heard for ~two ping periods: the connection is dead even if TCP has not noticed.
    if (this.#heard) {
      this.#heard = false;
      this.#silentBeats = 0;
    } else if (!stalled && ++this.#silentBeats >= 3) {
      conn.terminate();
      return;
    }
    conn.ping();
  }

  /** One frame from the server, inside the socket's callback: nothing thrown may escape it. */
  #onFrame(conn: WebsocketConnection, data: Uint8Array | string, isBinary: boolean): void {
    try {
      this.#handleFrame(conn, data, isBinary);
    } catch (err) {
      this.#handlerError(err, "");
      this.#fail(CloseReason.INTERNAL_ERROR);
    }
  }

  #handleFrame(conn: WebsocketConnection, data: Uint8Array | string, isBinary: boolean): void {
    if (this.#conn !== conn) return;
    this.#heard = true;
    let frame;
    try {
      if (isBinary || typeof data !== "string") throw new Error("binary frame");
      frame = parseFrame(data, { maxValueDepth: this.#maxValueDepth });
    } catch (err) {
      this.#fail(err instanceof ValueTooDeep ? CloseReason.VALUE_TOO_DEEP : CloseReason.INVALID_MESSAGE);
      return;
    }
    switch (frame.t) {
      case "m":
      case "q":
      case "r":
        this.#channel.receive(frame);
        break;
      case "a":
        this.#channel.receiveAck(frame);
        break;
      case "pong": {
        this.#pings.shift()?.answered();
        break;
      }
      default:
        this.#fail(CloseReason.INVALID_MESSAGE);
    }
  }

  #onClose(conn: WebsocketConnection, code: number): void {
    if (this.#conn !== conn || this.isClosed) return;
    this.#drop();
    const reason = closeReasonFromCode(code) ?? (code === 1009 ? CloseReason.MESSAGE_TOO_LARGE : undefined);
    if (reason) {
      void this.#end(closedByServer(reason) ? "CLOSED_BY_SERVER" : "CLOSED_FAILED", reason);
      return;
    }
    this.emit("disconnected");
    if (!this.#reconnect.enabled) {
      void this.#end("CLOSED_FAILED", CloseReason.TRANSPORT_ERROR);
      return;
    }
    this.#setState("RECOVERING_RECONNECT");
    void this.#recover();
  }

  /** Forgets the current socket (it is gone or going). */
  #drop(): void {
    this.#conn = undefined;
    this.#channel.detach();
    clearInterval(this.#heartbeat);
    for (const p of this.#pings.splice(0))
      p.reject(new RealtimeSessionClosedError(CloseReason.TRANSPORT_ERROR, "The connection dropped before the pong"));
  }

  async #recover(): Promise<void> {
    const deadline = Date.now() + this.#reconnect.timeout;
    for (let attempt = 0; this.#state === "RECOVERING_RECONNECT"; attempt++) {
      const wait = Math.min(this.#reconnect.strategy(attempt), deadline - Date.now());
      if (wait > 0) await sleep(wait, this.#cancel.signal);
      if (this.#state !== "RECOVERING_RECONNECT") return;
      if (Date.now() >= deadline) break;
      const index = (this.#urlIndex + attempt) % this.urls.length;
      const resume = JSON.stringify({ t: "resume", v: PROTOCOL_VERSION, sessionId: this.#sessionId, token: this.#token, ack: this.#channel.inSeq });
      try {
        const timeout = Math.max(1, Math.min(this.#connectTimeout, deadline - Date.now()));
        const opened = await openSession(this.#http, this.urls[index]!, resume, timeout, this.#cancel.signal, this.#maxValueDepth);
        const { conn, answer } = opened;
        if (this.#state !== "RECOVERING_RECONNECT" || answer.t !== "resumed") {
          conn.terminate();
          if (answer.t !== "resumed") void this.#end("CLOSED_FAILED", CloseReason.HANDSHAKE_ERROR);
          return;
        }
        this.#urlIndex = index;
        if (!this.#use(opened, answer)) return;
        this.#setState("CONNECTED_ACTIVE");
        this.emit("recovered");
        return;
      } catch (err) {
        if (!(err instanceof HandshakeFailure)) throw err;
        if (err.reason && err.reason !== CloseReason.TOO_MANY_SESSIONS) {
          // The server answered and said no (closed meanwhile, lost, denied…): final.
          // (A node too busy for another handshake may have room on the next attempt.)
          void this.#end(closedByServer(err.reason) ? "CLOSED_BY_SERVER" : "CLOSED_FAILED", err.reason);
          return;
        }
      }
    }
    if (this.#state === "RECOVERING_RECONNECT") void this.#end("CLOSED_FAILED", CloseReason.CONNECTION_TIMEOUT);
  }

  #fail(reason: CloseReason): void {
    if (!this.isClosed) void this.#end("CLOSED_FAILED", reason);
  }

  async #end(state: "CLOSED_BY_CLIENT" | "CLOSED_BY_SERVER" | "CLOSED_FAILED", reason: CloseReason): Promise<void> {
    if (this.isClosed) return;
    this.#closeReason = reason;
    const conn = this.#conn;
    this.#drop();
    this.#cancel.abort();
    this.#channel.close(new RealtimeSessionClosedError(reason));
    this.#setState(state);
    this.emit("closed", reason);
    // Tell the server why, so it ends the session too instead of keeping it alive.
    const closing = conn && conn.state === "OPEN" ? conn.close(closeCodeOf(reason), reason.name) : undefined;
    if (closing) {
      const timer = setTimeout(() => conn!.terminate(), 2000).unref();
      await closing;
      clearTimeout(timer);
    }
    if (this.#ownsHttp) await this.#http.close();
  }

  #setState(state: SessionState): void {
    const previous = this.#state;
    if (previous === state) return;
    this.#state = state;
    this.#closed = state.startsWith("CLOSED");
    this.emit("state", state, previous);
  }

  #handlerError(err: unknown, path: string): void {
    this.emit("handler-error", err instanceof Error ? err : new Error(String(err)), path);
  }

  [inspect.custom](): string {
    return `RealtimeSession { sessionId: ${this.#sessionId ?? "none"}, principal: ${JSON.stringify(this.principal)}, state: '${this.#state}' }`;
  }
}

/**
 * Reasons for which the server chose to end a live session (Diffusion's CLOSED_BY_SERVER),
 * as opposed to a failure of the session or of the connection (CLOSED_FAILED).
 */
function closedByServer(reason: CloseReason): boolean {
  return (
    reason === CloseReason.CLOSED_BY_CONTROLLER ||
    reason === CloseReason.SERVER_CLOSING ||
    reason === CloseReason.MESSAGE_QUEUE_LIMIT_REACHED ||
    reason === CloseReason.AUTHENTICATION_REVOKED
  );
}

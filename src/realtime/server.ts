/**
 * RealtimeServer: accepts realtime sessions on a Node `http` server's upgrade event (or
 * listens itself), authenticates them, dispatches their messages to path handlers,
 * pushes to them, and keeps a disconnected session for a keep-alive window so its client
 * can resume it. With a cluster backplane, session state and routing live in Redis.
 */
import { EventEmitter } from "node:events";
import http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { InvalidArgumentError } from "../errors.js";
import { CloseReason, closeCodeOf } from "./close-reason.js";
import type { ClusterBackplane } from "./cluster.js";
import { RealtimeSessionClosedError, SessionNotFoundError } from "./errors.js";
import { filterPredicate, type SessionFilter } from "./properties.js";
import { messageBody, parseFrame, SUBPROTOCOL, type Frame, type Value } from "./protocol.js";

export type { RealtimeServerEvents, RealtimeServerOptions, ServerHandler } from "./server-options.js";
import { checkHello, fixedProperties, offersSubprotocol, refuseUpgrade, rejectSocket } from "./server-handshake.js";
import { startBackplane } from "./server-cluster.js";
import type { ServerSession } from "./server-session.js";
import { newServerSession, type SessionInit } from "./server-channel.js";
import {
  resolveServerOptions,
  type RealtimeServerEvents,
  type RealtimeServerOptions,
  type ResolvedServerOptions,
  type ServerHandler,
} from "./server-options.js";
import { resumeSession } from "./server-resume.js";
import { newSessionId } from "./session-id.js";
import { hashToken, newResumeToken } from "./tokens.js";

export class RealtimeServer extends EventEmitter<RealtimeServerEvents> {
  readonly options: ResolvedServerOptions;
  readonly #wss: WebSocketServer;
  readonly #sessions = new Map<string, ServerSession>();
  readonly #handlers = new Map<string, ServerHandler>();
  readonly #pendingSockets = new Set<WebSocket>();
  /** Sessions being rebuilt from the cluster; deliveries wait here until they are ready. */
  readonly #loading = new Map<string, Array<[number, string]>>();
  /** Sessions closed while their client was away, kept for one keep-alive window. */
  readonly #tombstones = new Map<string, { reason: CloseReason; tokenHash: string }>();
  #http: http.Server | undefined;
  #ownsHttp = false;
  #cluster: ClusterBackplane | undefined;
  #clusterOption: RealtimeServerOptions["cluster"];
  #heartbeat: NodeJS.Timeout | undefined;
  #tick = 0;
  #lastTick = 0;
  #closed = false;

  constructor(options: RealtimeServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.#clusterOption = options.cluster;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxMessageSize,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
  }

  /** Takes realtime upgrades on an existing http server. */
  async attach(server: http.Server): Promise<void> {
    if (this.#http) throw new InvalidArgumentError("the server is already attached");
    await this.#startCluster();
    this.#http = server;
    server.on("upgrade", this.#onUpgrade);
    // In a cluster the same tick refreshes the shared state's TTL, so it must come well
    // within the keep-alive window.
    this.#tick = Math.min(this.options.pingPeriod / 2, this.options.keepAlive / 3);
    this.#lastTick = performance.now();
    this.#heartbeat = setInterval(() => this.#checkHeartbeats(), this.#tick).unref();
  }

  /** Creates its own http server and listens. Resolves to the ws:// URL of the endpoint. */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    const server = http.createServer((_req, res) => res.writeHead(426, { connection: "close" }).end());
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    this.#ownsHttp = true;
    try {
      await this.attach(server);
    } catch (err) {
      // e.g. CLUSTER_UNAVAILABLE: do not leave the port open behind a failed start.
      await new Promise((resolve) => server.close(resolve));
      throw err;
    }
    return this.url!;
  }

  /** ws:// URL of the endpoint when the http server is listening on TCP. */
  get url(): string | undefined {
    const a = this.#http?.address();
    if (!a || typeof a === "string") return undefined;
    const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
    return `ws://${host}:${a.port}${this.options.path}`;
  }

  /** This node's cluster id, or undefined when running alone. */
  get nodeId(): string | undefined {
    return this.#cluster?.nodeId;
  }

  /** Handles messages and requests sent by clients to `path`. Returns a remover. */
  addHandler(path: string, handler: ServerHandler): () => void {
    if (typeof handler !== "function") throw new InvalidArgumentError("handler must be a function");
    this.#handlers.set(path, handler);
    return () => {
      if (this.#handlers.get(path) === handler) this.#handlers.delete(path);
    };
  }

  /** Sessions held by this node. */
  get sessions(): ReadonlyMap<string, ServerSession> {
    return this.#sessions;
  }

  getSession(sessionId: string): ServerSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Pushes a message to one session, on this node or (with a cluster) any node. */
  async sendToSession(sessionId: string, path: string, value: Value): Promise<void> {
    const local = this.#sessions.get(sessionId);
    if (local && !this.#cluster) return local.send(path, value);
    if (!this.#cluster || !(await this.#cluster.append(sessionId, messageBody("m", path, value)))) {
      throw new SessionNotFoundError(sessionId);
    }
  }

  /**
   * Pushes to every session whose properties match: a Diffusion filter string
   * (`"Department is 'Accounts' and not $Transport is 'WEBSOCKET'"`), an object of
   * properties that must all be equal, or a function. Resolves to how many were reached.
   * A filter string that does not parse rejects with INVALID_FILTER before anything is sent.
   */
  async sendToFilter(filter: SessionFilter, path: string, value: Value): Promise<number> {
    const matches = filterPredicate(filter); // checks the filter before any work
    if (!this.#cluster) {
      let n = 0;
      for (const s of this.#sessions.values()) {
        if (s.state !== "CLOSED" && matches(s.properties)) {
          s.send(path, value);
          n++;
        }
      }
      return n;
    }
    const ids = await this.#cluster.find(filter);
    const body = messageBody("m", path, value);
    const sent = await Promise.all(ids.map((id) => this.#cluster!.append(id, body)));
    return sent.filter(Boolean).length;
  }

  /** Closes a session (by default as CLOSED_BY_CONTROLLER). False when there is no such session. */
  async closeSession(sessionId: string, reason: CloseReason = CloseReason.CLOSED_BY_CONTROLLER): Promise<boolean> {
    const local = this.#sessions.get(sessionId);
    if (local) {
      this.finish(local, reason);
      return true;
    }
    return this.#cluster ? this.#cluster.closeRemote(sessionId, reason.id) : false;
  }

  async #startCluster(): Promise<void> {
    if (!this.#clusterOption || this.#cluster) return;
    this.#cluster = await startBackplane(
      this.#clusterOption,
      {
        sessions: this.#sessions,
        loading: this.#loading,
        finish: (session, reason) => this.finish(session, reason),
        reportError: (err) => this.#handlerError(err, undefined),
      },
      this.options.replayBufferSize,
    );
  }

  #onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    if (pathname !== this.options.path) {
      // Someone else may take it; if nobody listens but us, do not leave it hanging.
      if (this.#http && this.#http.listenerCount("upgrade") === 1) socket.destroy();
      return;
    }
    if (this.#closed) {
      socket.destroy();
      return;
    }
    // Only clients that speak our protocol get a WebSocket: without this check ws would
    // accept an upgrade that offers no subprotocol (and one that offers only others).
    if (!offersSubprotocol(req.headers["sec-websocket-protocol"])) {
      refuseUpgrade(socket, `The WebSocket subprotocol ${SUBPROTOCOL} is required`);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#onSocket(ws, req.socket.remoteAddress ?? ""));
  };

  #onSocket(ws: WebSocket, clientIP: string): void {
    // Every socket error is followed by 'close', where the session logic lives.
    ws.on("error", () => {});
    this.#pendingSockets.add(ws);
    // The whole handshake must finish in time: the first frame *and* its checking (an
    // authenticator or a cluster lookup that never answers must not hold the socket).
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      rejectSocket(ws, CloseReason.CONNECTION_TIMEOUT);
    }, this.options.handshakeTimeout).unref();
    ws.once("close", () => {
      clearTimeout(timer);
      this.#pendingSockets.delete(ws);
    });
    ws.once("message", (data, isBinary) => {
      // Frames that arrive while the handshake is being checked are held until it is
      // done. A real client sends nothing before its answer, so the hold is small: more
      // than one maximum-size message's worth ends the attempt.
      const early: Array<[Buffer, boolean]> = [];
      let earlyBytes = 0;
      const hold = (d: Buffer, b: boolean) => {
        earlyBytes += d.length;
        if (earlyBytes > this.options.maxMessageSize) {
          ws.off("message", hold);
          early.length = 0;
          rejectSocket(ws, CloseReason.MESSAGE_QUEUE_LIMIT_REACHED);
          return;
        }
        early.push([d, b]);
      };
      ws.on("message", hold);
      this.#handshake(ws, clientIP, data as Buffer, isBinary)
        .then((session) => {
          clearTimeout(timer);
          ws.off("message", hold);
          this.#pendingSockets.delete(ws);
          if (session) for (const [d, b] of early) this.#onFrame(session, ws, d, b);
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          this.emit("handler-error", err instanceof Error ? err : new Error(String(err)), undefined);
          if (!timedOut) rejectSocket(ws, CloseReason.INTERNAL_ERROR);
        });
    });
  }

  async #handshake(ws: WebSocket, clientIP: string, data: Buffer, isBinary: boolean): Promise<ServerSession | undefined> {
    let frame: Frame;
    try {
      if (isBinary) throw new Error("binary handshake");
      frame = parseFrame(data.toString("utf8"));
    } catch {
      rejectSocket(ws, CloseReason.HANDSHAKE_ERROR);
      return undefined;
    }
    if (frame.t === "resume") {
      const result = await resumeSession(this.#resumeContext(), frame);
      if (!result.ok) {
        rejectSocket(ws, result.reason);
        return undefined;
      }
      if (ws.readyState !== ws.OPEN) {
        // The client left while we were loading: the session waits for another resume.
        if (result.session.state !== "CONNECTED") this.#startKeepAlive(result.session);
        return undefined;
      }
      this.#attachSocket(
        result.session,
        ws,
        JSON.stringify({
          t: "resumed",
          ack: result.session.channel.inSeq,
          ping: this.options.pingPeriod,
          keepAlive: this.options.keepAlive,
          maxMessageSize: this.options.maxMessageSize,
        }),
      );
      result.session.channel.resume(frame.ack);
      this.emit("session-resumed", result.session);
      return result.session;
    }
    if (frame.t !== "hello") {
      rejectSocket(ws, CloseReason.HANDSHAKE_ERROR);
      return undefined;
    }
    const verdict = await checkHello(frame, this.options.authenticator, clientIP);
    if (!verdict.ok) {
      if (verdict.error) this.emit("handler-error", verdict.error, undefined);
      rejectSocket(ws, verdict.reason);
      return undefined;
    }
    if (ws.readyState !== ws.OPEN || this.#closed) return undefined;
    const id = newSessionId();
    const token = newResumeToken();
    const properties = { ...verdict.properties, ...fixedProperties(id, verdict.principal, clientIP) };
    const session = this.createSession({ id, principal: verdict.principal, properties, tokenHash: hashToken(token) });
    await this.#cluster?.register(session, this.options.keepAlive);
    this.#sessions.set(id, session);
    if (ws.readyState !== ws.OPEN) {
      // Gone before it got its welcome: it can never resume, so end it now.
      this.finish(session, CloseReason.TRANSPORT_ERROR);
      return undefined;
    }
    this.#attachSocket(
      session,
      ws,
      JSON.stringify({
        t: "welcome",
        sessionId: id,
        token,
        properties,
        ack: 0,
        ping: this.options.pingPeriod,
        keepAlive: this.options.keepAlive,
        maxMessageSize: this.options.maxMessageSize,
      }),
    );
    this.emit("session-opened", session);
    return session;
  }

  #resumeContext() {
    return {
      sessions: this.#sessions,
      loading: this.#loading,
      cluster: this.#cluster,
      tombstones: this.#tombstones,
      createSession: (init: SessionInit) => this.createSession(init),
      finish: (s: ServerSession, r: CloseReason) => this.finish(s, r),
    };
  }

  /** Builds a session object and its channel (not yet registered). */
  createSession(init: SessionInit): ServerSession {
    return newServerSession(init, {
      owner: this,
      replayBufferSize: this.options.replayBufferSize,
      handlers: this.#handlers,
      cluster: this.#cluster,
      finish: (session, reason) => this.finish(session, reason),
      reportError: (err, session) => this.#handlerError(err, session),
    });
  }

  #attachSocket(session: ServerSession, ws: WebSocket, answer: string): void {
    const old = session.socket;
    if (old && old !== ws) old.terminate(); // a half-open socket the client has given up on
    clearTimeout(session.keepAliveTimer);
    session.socket = ws;
    session.state = "CONNECTED";
    session.heard = true;
    session.silentTicks = 0;
    ws.send(answer);
    session.channel.attach((text) => this.#write(session, ws, text));
    ws.on("message", (data, isBinary) => this.#onFrame(session, ws, data as Buffer, isBinary));
    ws.on("ping", () => {
      session.heard = true;
    });
    ws.on("pong", () => {
      session.heard = true;
    });
    ws.on("close", (code) => this.#onSocketClose(session, ws, code));
    // ws reports frame-level violations (oversized, bad UTF-8, bad opcode) as errors with a
    // WS_ERR_ code before closing; those end the session, replaying would only repeat them.
    ws.on("error", (err: Error & { code?: string }) => {
      if (session.socket !== ws || typeof err.code !== "string" || !err.code.startsWith("WS_ERR_")) return;
      this.finish(session, err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? CloseReason.MESSAGE_TOO_LARGE : CloseReason.INVALID_MESSAGE);
    });
  }

  /**
   * Every frame for a connected session goes out here (pushes, answers, acks, replays,
   * pongs). A client that reads too slowly leaves what the server wrote piling up in the
   * socket's `bufferedAmount` (bytes the network has not taken yet); past
   * `maxQueuedBytes` the session ends with MESSAGE_QUEUE_LIMIT_REACHED rather than the
   * server's memory growing without limit. The check is one getter read per frame.
   */
  #write(session: ServerSession, ws: WebSocket, text: string): void {
    if (session.socket !== ws) return; // ended (possibly by this check) while a replay was under way
    if (ws.bufferedAmount > this.options.maxQueuedBytes) {
      this.finish(session, CloseReason.MESSAGE_QUEUE_LIMIT_REACHED);
      return;
    }
    ws.send(text);
  }

  #onFrame(session: ServerSession, ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (session.socket !== ws) return;
    session.heard = true;
    let frame: Frame;
    try {
      if (isBinary) throw new Error("binary frame");
      frame = parseFrame(data.toString("utf8"));
    } catch {
      this.finish(session, CloseReason.INVALID_MESSAGE);
      return;
    }
    switch (frame.t) {
      case "m":
      case "q":
      case "r":
        session.channel.receive(frame);
        break;
      case "a":
        session.channel.receiveAck(frame);
        this.#cluster?.acknowledged(session.id, frame.a);
        break;
      case "ping":
        this.#write(session, ws, JSON.stringify({ t: "pong", ts: frame.ts, now: Date.now() }));
        break;
      default:
        this.finish(session, CloseReason.INVALID_MESSAGE);
    }
  }

  #onSocketClose(session: ServerSession, ws: WebSocket, code: number): void {
    if (session.socket !== ws || session.state === "CLOSED") return;
    session.socket = null;
    session.channel.detach();
    if (code === closeCodeOf(CloseReason.CLOSED_BY_CLIENT)) {
      this.finish(session, CloseReason.CLOSED_BY_CLIENT);
      return;
    }
    this.#startKeepAlive(session);
    this.emit("session-disconnected", session);
  }

  /** The client is away: keep the session for the keep-alive window, then end it. */
  #startKeepAlive(session: ServerSession): void {
    session.state = "DISCONNECTED";
    clearTimeout(session.keepAliveTimer);
    session.keepAliveTimer = setTimeout(() => this.finish(session, CloseReason.CONNECTION_TIMEOUT), this.options.keepAlive).unref();
    this.#cluster?.expireAfter(session.id, this.options.keepAlive);
  }

  /** Ends a session for good: the client is told why, and `session-closed` is emitted. */
  finish(session: ServerSession, reason: CloseReason): void {
    if (session.state === "CLOSED") return;
    // A client that is away when the application closes its session should hear why
    // when it comes back, not just that the session is gone. So should a client closed
    // for reading too slowly: its close frame waits behind the backlog that caused it
    // and may never get through before the socket is cut.
    const tombstone =
      (session.state === "DISCONNECTED" && reason === CloseReason.CLOSED_BY_CONTROLLER) || reason === CloseReason.MESSAGE_QUEUE_LIMIT_REACHED;
    if (tombstone) this.#remember(session.id, reason, session.tokenHash);
    session.state = "CLOSED";
    clearTimeout(session.keepAliveTimer);
    session.channel.close(new RealtimeSessionClosedError(reason));
    if (session.socket) rejectSocket(session.socket, reason);
    session.socket = null;
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
    const grave = tombstone ? { reasonId: reason.id, tokenHash: session.tokenHash, ttlMs: this.options.keepAlive } : undefined;
    this.#cluster?.remove(session.id, grave).catch((err: unknown) => this.#handlerError(err, session));
    this.emit("session-closed", session, reason);
  }

  #remember(id: string, reason: CloseReason, tokenHash: string): void {
    if (this.#tombstones.size >= 10_000) this.#tombstones.delete(this.#tombstones.keys().next().value!);
    this.#tombstones.set(id, { reason, tokenHash });
    setTimeout(() => this.#tombstones.delete(id), this.options.keepAlive).unref();
  }

  #handlerError(err: unknown, session: ServerSession | undefined): void {
    this.emit("handler-error", err instanceof Error ? err : new Error(String(err)), session);
  }

  #checkHeartbeats(): void {
    // Ticks come every half ping period (or faster); clients ping every half period.
    // Silence for 1.5 periods (so, noticed within two) means the client or the network
    // is gone: drop the socket but keep the session, so the client can still resume it.
    // (A flag per frame is cheaper than reading the clock per frame.)
    // `allowed` silent ticks plus the tick that cleared the flag must fit in two periods.
    const allowed = Math.max(1, Math.floor((2 * this.options.pingPeriod) / this.#tick) - 1);
    // A tick that comes late means this process was stalled: the clients' frames are
    // still unread in the sockets (timers run before I/O), so this tick proves nothing.
    const now = performance.now();
    const stalled = now - this.#lastTick > 1.5 * this.#tick;
    this.#lastTick = now;
    const connected: string[] = [];
    for (const s of this.#sessions.values()) {
      if (s.state !== "CONNECTED") continue;
      if (s.heard) {
        s.heard = false;
        s.silentTicks = 0;
      } else if (!stalled && ++s.silentTicks >= allowed) {
        s.socket?.terminate();
        continue;
      }
      connected.push(s.id);
    }
    if (connected.length > 0) this.#cluster?.touch(connected, this.options.keepAlive);
  }

  /**
   * Stops the server. Alone, every session ends with SERVER_CLOSING. In a cluster the
   * sessions stay in Redis and clients are told to reconnect (1012), so they resume on
   * another node or on this one after a restart.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#http?.off("upgrade", this.#onUpgrade);
    for (const ws of this.#pendingSockets) ws.terminate();
    for (const s of [...this.#sessions.values()]) {
      if (this.#cluster) {
        // Stop reading first (no handler runs after this point), then let the client go
        // with 1012 so it resumes elsewhere. Writes already issued to Redis complete
        // before the Redis client closes.
        const ws = s.socket;
        s.socket = null;
        s.state = "CLOSED";
        clearTimeout(s.keepAliveTimer);
        s.channel.close(new RealtimeSessionClosedError(CloseReason.TRANSPORT_ERROR, "The node is shutting down"));
        ws?.close(1012, "node restarting");
      } else {
        this.finish(s, CloseReason.SERVER_CLOSING);
      }
    }
    this.#sessions.clear();
    await this.#cluster?.close();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    if (this.#ownsHttp && this.#http) {
      const server = this.#http;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

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
import { messageBody, parseFrame, SUBPROTOCOL, ValueTooDeep, type Frame, type Value } from "./protocol.js";

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
import { bindingProperties, checkResumeBinding, httpSessionRef, readBinding, type HttpSessionEnded } from "./server-http-session.js";
import { addressKey, PendingHandshakes, SessionTable } from "./server-limits.js";
import { newSessionId } from "./session-id.js";
import { hashToken, newResumeToken } from "./tokens.js";

export class RealtimeServer extends EventEmitter<RealtimeServerEvents> {
  readonly options: ResolvedServerOptions;
  readonly #wss: WebSocketServer;
  readonly #sessions = new SessionTable();
  readonly #handlers = new Map<string, ServerHandler>();
  readonly #pendingSockets = new Set<WebSocket>();
  readonly #pending: PendingHandshakes;
  #stopHttpSessionEvents: (() => void) | undefined;
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
    this.#pending = new PendingHandshakes(this.options.maxPendingHandshakes, this.options.maxPendingPerAddress);
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
    this.#stopHttpSessionEvents ??= this.options.httpSessions?.onSessionEnded((e) => this.#onHttpSessionEnded(e));
    // In a cluster the same tick refreshes the shared state's TTL, so it must come well
    // within the keep-alive window.
    this.#tick = Math.min(this.options.pingPeriod / 2, this.options.keepAlive / 3);
    this.#lastTick = performance.now();
    this.#heartbeat = setInterval(() => this.#checkHeartbeats(), this.#tick).unref();
  }

  /** Creates its own http server and listens. Resolves to the ws:// URL of the endpoint. */
  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    // Plain requests get a status and a line that says where the endpoint is.
    const server = http.createServer((req, res) => {
      const here = new URL(req.url ?? "/", "http://localhost").pathname === this.options.path;
      const text = here ? `Upgrade Required: this is a WebSocket endpoint (${SUBPROTOCOL})` : this.#notHereText();
      res.writeHead(here ? 426 : 404, { connection: "close", "content-type": "text/plain; charset=utf-8" }).end(text);
    });
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
    // Encoded once for every session (and refused with INVALID_VALUE before any is sent).
    const body = messageBody("m", path, value);
    if (!this.#cluster) {
      let n = 0;
      for (const s of this.#sessions.values()) {
        if (s.state !== "CLOSED" && matches(s.properties)) {
          s.channel.sendBody(body);
          n++;
        }
      }
      return n;
    }
    const cluster = this.#cluster;
    const ids = await cluster.find(filter);
    if (cluster.appendMany) return cluster.appendMany(ids, body);
    const sent = await Promise.all(ids.map((id) => cluster.append(id, body)));
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

  #notHereText(): string {
    return `Not Found: this server takes realtime sessions (WebSocket, ${SUBPROTOCOL}) at ${this.options.path}`;
  }

  #onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    if (pathname !== this.options.path) {
      // Someone else may take it; if nobody listens but us, say where the endpoint is
      // (the client's error then shows it) instead of hanging up without a word.
      if (this.#http && this.#http.listenerCount("upgrade") === 1) refuseUpgrade(socket, this.#notHereText(), 404);
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
    let clientIP: string;
    try {
      clientIP = String(this.options.clientAddress(req));
    } catch (err) {
      this.#handlerError(err, undefined);
      refuseUpgrade(socket, "The client address could not be read");
      return;
    }
    // Handshakes in progress are capped in all and per address: each holds a socket and
    // possibly an authenticator call. Over the cap the client still gets a WebSocket, closed
    // at once with TOO_MANY_SESSIONS, so that it learns why (a typed error on its side).
    const release = this.#pending.admit(addressKey(clientIP));
    const cookie = req.headers.cookie;
    if (release) socket.once("close", release);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (!release) {
        ws.on("error", () => {});
        rejectSocket(ws, CloseReason.TOO_MANY_SESSIONS);
        return;
      }
      this.#onSocket(ws, clientIP, cookie, release);
    });
  };

  #onSocket(ws: WebSocket, clientIP: string, cookie: string | undefined, release: () => void): void {
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
      release();
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
      this.#handshake(ws, clientIP, cookie, data as Buffer, isBinary)
        .then((session) => {
          clearTimeout(timer);
          ws.off("message", hold);
          this.#pendingSockets.delete(ws);
          release();
          if (session) for (const [d, b] of early) this.#onFrame(session, ws, d, b);
        })
        .catch((err: unknown) => {
          clearTimeout(timer);
          this.emit("handler-error", err instanceof Error ? err : new Error(String(err)), undefined);
          if (!timedOut) rejectSocket(ws, CloseReason.INTERNAL_ERROR);
        });
    });
  }

  async #handshake(ws: WebSocket, clientIP: string, cookie: string | undefined, data: Buffer, isBinary: boolean): Promise<ServerSession | undefined> {
    let frame: Frame;
    try {
      if (isBinary) throw new Error("binary handshake");
      frame = parseFrame(data.toString("utf8"), { maxValueDepth: this.options.maxValueDepth });
    } catch (err) {
      rejectSocket(ws, err instanceof ValueTooDeep ? CloseReason.VALUE_TOO_DEEP : CloseReason.HANDSHAKE_ERROR);
      return undefined;
    }
    if (frame.t === "resume") {
      const result = await resumeSession(this.#resumeContext(), frame);
      if (!result.ok) {
        rejectSocket(ws, result.reason);
        return undefined;
      }
      const httpSessions = this.options.httpSessions;
      const refusal = httpSessions && (await checkResumeBinding(httpSessions, result.session, cookie));
      if (refusal) {
        if (refusal.error) this.#handlerError(refusal.error, result.session);
        // Its server session is gone: the session ends here (and its client, on any node,
        // learns why); a store failure only turns this socket away.
        if (refusal.reason === CloseReason.AUTHENTICATION_REVOKED) this.finish(result.session, refusal.reason);
        else if (result.session.state !== "CONNECTED") this.#startKeepAlive(result.session);
        rejectSocket(ws, refusal.reason);
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
    // Checked before the authenticator (cheap refusal) and again right before the session
    // is added, since other handshakes may have finished meanwhile.
    if (this.#full(clientIP)) {
      rejectSocket(ws, CloseReason.TOO_MANY_SESSIONS);
      return undefined;
    }
    let bound: Record<string, string> | undefined;
    let boundOwner = "";
    if (this.options.httpSessions) {
      const binding = await readBinding(this.options.httpSessions, cookie);
      if (!binding.ok) {
        if (binding.error) this.emit("handler-error", binding.error, undefined);
        rejectSocket(ws, binding.reason);
        return undefined;
      }
      bound = bindingProperties(binding);
      boundOwner = binding.owner;
    }
    const verdict = await checkHello(frame, this.options.authenticator, clientIP);
    if (!verdict.ok) {
      if (verdict.error) this.emit("handler-error", verdict.error, undefined);
      rejectSocket(ws, verdict.reason);
      return undefined;
    }
    if (ws.readyState !== ws.OPEN || this.#closed) return undefined;
    if (this.#full(clientIP)) {
      rejectSocket(ws, CloseReason.TOO_MANY_SESSIONS);
      return undefined;
    }
    // Bound to an HTTP session and no authenticator to vouch for the claimed principal:
    // the principal is the server session's owner (anonymous when it names none).
    const principal = bound && !this.options.authenticator ? boundOwner : verdict.principal;
    const id = newSessionId();
    const token = newResumeToken();
    const properties = { ...verdict.properties, ...bound, ...fixedProperties(id, principal, clientIP) };
    const session = this.createSession({ id, principal, properties, tokenHash: hashToken(token) });
    // Counted from here on, so concurrent handshakes cannot overshoot the limits.
    this.#sessions.set(id, session);
    try {
      await this.#cluster?.register(session, this.options.keepAlive);
    } catch (err) {
      this.finish(session, CloseReason.INTERNAL_ERROR);
      throw err;
    }
    if (ws.readyState !== ws.OPEN || session.state === "CLOSED") {
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

  /** Whether a new session from `clientIP` would pass a limit. */
  #full(clientIP: string): boolean {
    if (this.#sessions.size >= this.options.maxSessions) return true;
    const anonymous = !this.options.authenticator && !this.options.httpSessions;
    return anonymous && this.#sessions.countFrom(addressKey(clientIP)) >= this.options.maxSessionsPerAddress;
  }

  /** A server session ended (here or, with a shared store, on any node): so do the realtime sessions bound to it. */
  #onHttpSessionEnded(e: HttpSessionEnded): void {
    if (this.#closed || typeof e !== "object" || e === null) return;
    const doomed = new Set(typeof e.id === "string" ? this.#sessions.boundTo(httpSessionRef(e.id)) : []);
    if (e.reason === "revoke-owner" && typeof e.owner === "string" && e.owner !== "") {
      for (const s of this.#sessions.ownedBy(e.owner)) doomed.add(s);
    }
    for (const s of doomed) this.finish(s, CloseReason.AUTHENTICATION_REVOKED);
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

  /**
   * One frame from a client. Runs inside ws's socket callback, where anything thrown
   * would take the process down: whatever fails below ends this session with
   * INTERNAL_ERROR and is reported, never more.
   */
  #onFrame(session: ServerSession, ws: WebSocket, data: Buffer, isBinary: boolean): void {
    try {
      this.#handleFrame(session, ws, data, isBinary);
    } catch (err) {
      this.#handlerError(err, session);
      try {
        this.finish(session, CloseReason.INTERNAL_ERROR);
      } catch (again) {
        this.#handlerError(again, session);
      }
    }
  }

  #handleFrame(session: ServerSession, ws: WebSocket, data: Buffer, isBinary: boolean): void {
    if (session.socket !== ws) return;
    session.heard = true;
    let frame: Frame;
    try {
      if (isBinary) throw new Error("binary frame");
      frame = parseFrame(data.toString("utf8"), { maxValueDepth: this.options.maxValueDepth });
    } catch (err) {
      this.finish(session, err instanceof ValueTooDeep ? CloseReason.VALUE_TOO_DEEP : CloseReason.INVALID_MESSAGE);
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
    // A session whose client never sent a message gets the shorter window: it costs the
    // same memory as any other, and a flood of opened-and-dropped sessions is all of them.
    const window = session.channel.inSeq === 0 ? this.options.silentKeepAlive : this.options.keepAlive;
    session.keepAliveTimer = setTimeout(() => this.finish(session, CloseReason.CONNECTION_TIMEOUT), window).unref();
    this.#cluster?.expireAfter(session.id, window);
  }

  /** Ends a session for good: the client is told why, and `session-closed` is emitted. */
  finish(session: ServerSession, reason: CloseReason): void {
    if (session.state === "CLOSED") return;
    // A client that is away when the application closes its session should hear why
    // when it comes back, not just that the session is gone. So should a client closed
    // for reading too slowly: its close frame waits behind the backlog that caused it
    // and may never get through before the socket is cut.
    const tombstone =
      (session.state === "DISCONNECTED" && reason === CloseReason.CLOSED_BY_CONTROLLER) ||
      reason === CloseReason.MESSAGE_QUEUE_LIMIT_REACHED ||
      reason === CloseReason.AUTHENTICATION_REVOKED;
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
    this.#stopHttpSessionEvents?.();
    this.#stopHttpSessionEvents = undefined;
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

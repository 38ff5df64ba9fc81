/**
 * The session's connection pool. Each pooled connection is one undici `Client` (one socket,
 * no pipelining), so undici does all HTTP/1.1 work while this file only decides *which*
 * connection a message gets. That is the part undici cannot do for us: libsoup's hard
 * limits on open connections per host (`maxConnsPerHost`) AND across the whole session
 * (`maxConns`), closing an idle connection elsewhere before a request has to wait, serving
 * waiters by priority, and handing a preconnected socket to the next request.
 *
 * HTTP/2 (keys whose connections offer h2 by ALPN): a connection that negotiated h2 is
 * shared by up to the server's SETTINGS_MAX_CONCURRENT_STREAMS requests and counts once
 * toward the limits, as in libsoup. While such a key's first connection is still
 * negotiating, other requests wait for it instead of opening more, so a burst opens one
 * connection; a key whose server answered HTTP/1.1 is remembered and pooled as before.
 */
import { Client } from "undici";
import type { Socket } from "node:net";
import type { Http2Session } from "node:http2";
import { AbortError, TimeoutError } from "../errors.js";
import type { AbortLike } from "./cancellation.js";
import type { Connector } from "./connector.js";

export interface ClientSettings {
  /** Origin given to undici (the proxy's for plain-http proxying, else the target's). */
  origin: string;
  connector: Connector;
  idleTimeout: number;
  timeout: number;
  /** The connector offers h2 (the Client then follows what ALPN chose). */
  allowH2?: boolean;
}

/** Before the server's SETTINGS arrive, one stream (the request that opened the connection). */
const H2_STREAMS_BEFORE_SETTINGS = 1;
/** Upper bound on streams per connection, whatever the server allows. */
const H2_MAX_STREAMS = 1000;

interface ConnectionEvents {
  gone: (c: PooledConnection) => void;
  /** The protocol is known, or the stream limit changed, or a GOAWAY came. */
  changed: (c: PooledConnection) => void;
}

export class PooledConnection {
  readonly key: string;
  readonly client: Client;
  busy = true;
  closed = false;
  /** The socket once connected (for byte counts and timings). */
  socket: Socket | null = null;
  /** True until the first request ran on it (metrics: this request made the connection). */
  fresh = true;
  /** A socket opened by preconnect() that the Client has not taken yet. */
  #pre: Promise<Socket> | null = null;
  /** performance.now() when it went idle (the pool's sweep closes it after idleTimeout). */
  idleSince = 0;
  /** Null until the socket is connected (its ALPN answer); then "h2" or "1.1". */
  protocol: "h2" | "1.1" | null = null;
  /** h2: requests on it now, and how many the server allows at once. */
  streams = 0;
  maxStreams = H2_STREAMS_BEFORE_SETTINGS;
  /** h2: the server sent GOAWAY; no new stream goes on it. */
  goaway = false;
  readonly #events: ConnectionEvents;

  constructor(key: string, settings: ClientSettings, events: ConnectionEvents) {
    this.key = key;
    this.#events = events;
    const onGone = events.gone;
    const connector = settings.connector;
    this.client = new Client(settings.origin, {
      pipelining: 1,
      // undici's own keep-alive handling still honours the server's Keep-Alive hint; our
      // idle timer (below) enforces the session's idleTimeout exactly.
      keepAliveTimeout: settings.idleTimeout > 0 ? settings.idleTimeout : 2 ** 31 - 1,
      keepAliveMaxTimeout: settings.idleTimeout > 0 ? settings.idleTimeout : 2 ** 31 - 1,
      headersTimeout: settings.timeout,
      bodyTimeout: settings.timeout,
      connect: (_opts: unknown, cb: (err: Error | null, socket: Socket | null) => void) => {
        const pre = this.#pre;
        if (pre !== null) {
          this.#pre = null;
          pre.then(
            (s) => {
              cb(null, s);
              this.#watchH2(s);
            },
            (e: Error) => cb(e, null),
          );
          return;
        }
        connector((err, socket) => {
          if (socket) {
            this.socket = socket;
            this.#learn(socket);
          }
          cb(err, socket);
          if (socket) this.#watchH2(socket);
        });
      },
    } as unknown as Client.Options);
    const gone = () => {
      if (this.closed) return;
      this.closed = true;
      onGone(this);
    };
    this.client.on("disconnect", gone);
    this.client.on("connectionError", gone);
  }

  get h2(): boolean {
    return this.protocol === "h2";
  }

  /** Reads the ALPN answer of a connected socket. */
  #learn(socket: Socket): void {
    if (this.protocol !== null) return;
    this.protocol = (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === "h2" ? "h2" : "1.1";
    // Our pool, not undici's pipelining limit, decides how many streams go on it.
    if (this.protocol === "h2") this.client.pipelining = H2_MAX_STREAMS;
    this.#events.changed(this);
  }

  /**
   * After undici's Client made its http2 session on the socket: follow the server's
   * SETTINGS_MAX_CONCURRENT_STREAMS and its GOAWAY. undici keeps the session under a
   * symbol on the socket (client-h2.js); without it the limit stays at one stream.
   */
  #watchH2(socket: Socket): void {
    if (this.protocol !== "h2") return;
    const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === "http2Session");
    const session = sym ? (socket as unknown as Record<symbol, Http2Session | null>)[sym] : null;
    if (!session) {
      this.maxStreams = 100;
      this.#events.changed(this);
      return;
    }
    const apply = () => {
      const n = session.remoteSettings?.maxConcurrentStreams;
      this.maxStreams = Math.max(1, Math.min(H2_MAX_STREAMS, typeof n === "number" ? n : 100));
      this.#events.changed(this);
    };
    session.on("remoteSettings", apply);
    session.once("goaway", () => {
      this.goaway = true;
      this.#events.changed(this);
    });
  }

  /** Opens the socket now (libsoup's preconnect) without sending anything. */
  preconnect(connector: Connector): Promise<void> {
    this.#pre = new Promise<Socket>((resolve, reject) => {
      connector((err, socket) => (err || !socket ? reject(err ?? new Error("no socket")) : resolve(socket)));
    });
    this.#pre.then(
      (s) => {
        this.socket = s;
        this.#learn(s);
      },
      () => undefined,
    );
    return this.#pre.then(() => undefined);
  }

  get preconnecting(): boolean {
    return this.#pre !== null;
  }

  destroy(): void {
    const pre = this.#pre;
    this.#pre = null;
    pre?.then(
      (s) => s.destroy(),
      () => undefined,
    );
    this.client.destroy().catch(() => undefined);
  }
}

interface Waiter {
  key: string;
  priority: number;
  seq: number;
  newConnection: boolean;
  multiplex: boolean;
  settings: () => ClientSettings;
  resolve: (c: PooledConnection) => void;
  reject: (e: Error) => void;
  signal?: AbortLike;
  onAbort?: () => void;
  timer?: NodeJS.Timeout;
}

export interface AcquireOptions {
  priority: number;
  signal?: AbortLike;
  newConnection: boolean;
  /** The key's connections offer h2: share an h2 connection, wait for one being negotiated. */
  multiplex?: boolean;
  /**
   * Longest wait for a connection in ms (0: no limit). The time a request waits for a busy
   * origin counts against its timeout, so no request waits forever behind bodies nobody reads.
   */
  waitTimeout?: number;
  /** Names the origin in the timeout error (never a URL with credentials). */
  label?: string;
}

export interface PoolLimits {
  maxConns: number;
  maxConnsPerHost: number;
  idleTimeout: number;
}

export class ConnectionPool {
  limits: PoolLimits;
  #byKey = new Map<string, Set<PooledConnection>>();
  #idle = new Map<string, PooledConnection[]>();
  #total = 0;
  #waiters: Waiter[] = [];
  #seq = 0;
  #sweepTimer: NodeJS.Timeout | null = null;
  /** h2 connections by key (shared up to their stream limit). */
  #h2 = new Map<string, PooledConnection[]>();
  /** Keys whose server answered ALPN with HTTP/1.1: no waiting for a negotiation there. */
  #http1Keys = new Set<string>();

  constructor(limits: PoolLimits) {
    this.limits = limits;
  }

  /** Number of open (or opening) connections, overall or for one key. */
  count(key?: string): number {
    return key === undefined ? this.#total : (this.#byKey.get(key)?.size ?? 0);
  }

  idleCount(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  /**
   * Gets a connection for `key`: an idle one, a new one within the limits (closing an idle
   * connection of another host when only the global limit is in the way), or waits.
   */
  acquire(key: string, settings: () => ClientSettings, opts: AcquireOptions): Promise<PooledConnection> {
    const multiplex = opts.multiplex === true;
    const now = this.#tryGet(key, settings, opts.newConnection, multiplex);
    if (now !== null) return Promise.resolve(now);
    if (opts.signal?.aborted) return Promise.reject(new AbortError());
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        key,
        priority: opts.priority,
        seq: this.#seq++,
        newConnection: opts.newConnection,
        multiplex,
        settings,
        resolve,
        reject,
        signal: opts.signal,
      };
      const leave = () => {
        const i = this.#waiters.indexOf(w);
        if (i !== -1) this.#waiters.splice(i, 1);
        if (w.timer !== undefined) clearTimeout(w.timer);
        if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
      };
      if (opts.signal) {
        w.onAbort = () => {
          leave();
          reject(new AbortError());
        };
        opts.signal.addEventListener("abort", w.onAbort, { once: true });
      }
      const wait = opts.waitTimeout ?? 0;
      if (wait > 0) {
        // Only a request that actually waits pays for a timer.
        w.timer = setTimeout(() => {
          leave();
          const busy = this.count(key);
          reject(
            new TimeoutError(
              `Timed out after ${wait} ms waiting for a connection to ${opts.label ?? key}: ` +
                `all ${busy} of its connections were busy (maxConnsPerHost ${this.limits.maxConnsPerHost}, maxConns ${this.limits.maxConns}); ` +
                "read or cancel response bodies to free them",
            ),
          );
        }, wait);
      }
      // Highest priority first, FIFO within a priority.
      let i = this.#waiters.length;
      while (i > 0 && this.#waiters[i - 1].priority < w.priority) i--;
      this.#waiters.splice(i, 0, w);
    });
  }

  /**
   * Opens a connection for `key` now, unless one is already open or opening. The connection
   * is idle (available) at once, while its socket is still being made: a request that comes
   * meanwhile takes it over and waits for that socket instead of opening a second one.
   */
  async preconnect(key: string, settings: () => ClientSettings): Promise<void> {
    if ((this.#idle.get(key)?.length ?? 0) > 0) return;
    if (this.#h2.get(key)?.some((c) => !c.goaway)) return; // one multiplexed connection is enough
    const conn = this.#tryGet(key, settings, true, false);
    if (conn === null) return; // at the limit: nothing to do, as in libsoup
    const s = settings();
    const ready = conn.preconnect(s.connector);
    this.#makeIdle(conn);
    try {
      await ready;
    } catch (err) {
      // Its taker (if any) gets the same connect error from undici's connect hook.
      if (!conn.busy) {
        this.#forget(conn);
        conn.destroy();
        this.#drain();
      }
      throw err;
    }
  }

  #tryGet(key: string, settings: () => ClientSettings, newConnection: boolean, multiplex: boolean): PooledConnection | null {
    if (!newConnection) {
      if (multiplex) {
        const shared = this.#shareH2(key);
        if (shared !== null) return shared;
      }
      const idle = this.#idle.get(key);
      if (idle !== undefined && idle.length > 0) {
        const conn = idle.pop()!;
        conn.busy = true;
        if (conn.h2) conn.streams = 1;
        return conn;
      }
      if (multiplex && this.#mustWaitH2(key)) return null;
    }
    const perHost = this.count(key);
    if (perHost >= this.limits.maxConnsPerHost) {
      if (!newConnection) return null;
      // NEW_CONNECTION at the per-host limit: replace an idle connection of this host.
      if (!this.#evictIdle(key, true)) return null;
    }
    if (this.#total >= this.limits.maxConns && !this.#evictIdle(key, false)) return null;
    return this.#create(key, settings());
  }

  /** A stream on an h2 connection of `key` with room for one more, or null. */
  #shareH2(key: string): PooledConnection | null {
    const list = this.#h2.get(key);
    if (list === undefined) return null;
    for (const conn of list) {
      if (conn.closed || conn.goaway || conn.streams >= conn.maxStreams) continue;
      if (conn.streams === 0) this.#unidle(conn);
      else conn.fresh = false; // metrics: this request did not open it
      conn.streams++;
      conn.busy = true;
      return conn;
    }
    return null;
  }

  /**
   * Whether a request for `key` waits instead of opening a connection: an h2 connection is
   * open (at its stream limit: requests queue, as in libsoup), or one is still negotiating
   * and may turn out to be h2.
   */
  #mustWaitH2(key: string): boolean {
    if (this.#h2.get(key)?.some((c) => !c.closed && !c.goaway)) return true;
    if (this.#http1Keys.has(key)) return false;
    const set = this.#byKey.get(key);
    if (set === undefined) return false;
    for (const c of set) if (c.protocol === null) return true;
    return false;
  }

  #unidle(conn: PooledConnection): void {
    const idle = this.#idle.get(conn.key);
    if (idle === undefined) return;
    const i = idle.indexOf(conn);
    if (i !== -1) idle.splice(i, 1);
    if (idle.length === 0) this.#idle.delete(conn.key);
  }

  /** A connection learned its protocol, its stream limit, or got a GOAWAY. */
  #changed(conn: PooledConnection): void {
    if (conn.closed) return;
    if (conn.protocol === "1.1") {
      this.#http1Keys.add(conn.key);
    } else if (conn.protocol === "h2") {
      this.#http1Keys.delete(conn.key);
      let list = this.#h2.get(conn.key);
      if (list === undefined) this.#h2.set(conn.key, (list = []));
      if (!list.includes(conn)) {
        list.push(conn);
        conn.streams = conn.busy ? 1 : 0;
        // Its opener already read `fresh`; the streams that follow did not open it.
        if (conn.busy) conn.fresh = false;
      }
      if (conn.goaway) this.#unidle(conn);
    }
    this.#drain();
  }

  /** Closes one idle connection (of `key` when `same`, else of any other key). */
  #evictIdle(key: string, same: boolean): boolean {
    for (const [k, list] of this.#idle) {
      if ((k === key) !== same || list.length === 0) continue;
      const victim = list.shift()!;
      this.#forget(victim);
      victim.destroy();
      return true;
    }
    return false;
  }

  #create(key: string, settings: ClientSettings): PooledConnection {
    const conn = new PooledConnection(key, settings, {
      gone: (c) => {
        this.#forget(c);
        c.destroy();
        this.#drain();
      },
      changed: (c) => this.#changed(c),
    });
    let set = this.#byKey.get(key);
    if (set === undefined) this.#byKey.set(key, (set = new Set()));
    set.add(conn);
    this.#total++;
    return conn;
  }

  #forget(conn: PooledConnection): void {
    const set = this.#byKey.get(conn.key);
    if (set?.delete(conn)) {
      this.#total--;
      if (set.size === 0) this.#byKey.delete(conn.key);
    }
    const idle = this.#idle.get(conn.key);
    if (idle) {
      const i = idle.indexOf(conn);
      if (i !== -1) idle.splice(i, 1);
      if (idle.length === 0) this.#idle.delete(conn.key);
    }
    const h2 = this.#h2.get(conn.key);
    if (h2) {
      const i = h2.indexOf(conn);
      if (i !== -1) h2.splice(i, 1);
      if (h2.length === 0) this.#h2.delete(conn.key);
    }
    conn.closed = true;
  }

  /** Returns a connection after its response body was fully read. */
  release(conn: PooledConnection): void {
    if (conn.h2) {
      this.#endStream(conn);
      return;
    }
    if (conn.closed) {
      this.#drain();
      return;
    }
    conn.fresh = false;
    this.#makeIdle(conn);
  }

  /** Gives an available connection to the best waiter for its key, or parks it as idle. */
  #makeIdle(conn: PooledConnection): void {
    conn.busy = false;
    // Hand it straight to the best waiter for the same key.
    const i = this.#waiters.findIndex((w) => w.key === conn.key && !w.newConnection);
    if (i !== -1) {
      const w = this.#waiters.splice(i, 1)[0];
      conn.busy = true;
      this.#settle(w, conn);
      // Other waiters may fit too (e.g. the limits were raised while they waited).
      this.#drain();
      return;
    }
    let idle = this.#idle.get(conn.key);
    if (idle === undefined) this.#idle.set(conn.key, (idle = []));
    idle.push(conn);
    if (this.limits.idleTimeout > 0) {
      conn.idleSince = performance.now();
      if (this.#sweepTimer === null) this.#scheduleSweep(this.limits.idleTimeout);
    }
    this.#drain();
  }

  /**
   * One timer for the whole pool instead of a setTimeout/clearTimeout pair per request (a
   * measurable cost at high request rates): it wakes at the earliest idle deadline, closes
   * what has been idle for idleTimeout, and sleeps until the next deadline.
   */
  #scheduleSweep(delay: number): void {
    this.#sweepTimer = setTimeout(() => this.#sweep(), Math.max(1, Math.ceil(delay)));
    this.#sweepTimer.unref();
  }

  #sweep(): void {
    this.#sweepTimer = null;
    const timeout = this.limits.idleTimeout;
    if (timeout <= 0) return;
    const now = performance.now();
    let next = Infinity;
    let closed = false;
    for (const list of [...this.#idle.values()]) {
      for (const conn of [...list]) {
        const due = conn.idleSince + timeout;
        if (due <= now + 1) {
          this.#forget(conn);
          conn.destroy();
          closed = true;
        } else next = Math.min(next, due);
      }
    }
    if (next !== Infinity) this.#scheduleSweep(next - now);
    if (closed) this.#drain();
  }

  /**
   * One request on an h2 connection is over. The connection stays (a failed or cancelled
   * stream does not break the others; a broken connection is dropped by its own close).
   */
  #endStream(conn: PooledConnection): void {
    conn.fresh = false;
    if (conn.streams > 0) conn.streams--;
    if (conn.streams === 0) {
      conn.busy = false;
      if (!conn.closed && !conn.goaway) {
        let idle = this.#idle.get(conn.key);
        if (idle === undefined) this.#idle.set(conn.key, (idle = []));
        idle.push(conn);
        if (this.limits.idleTimeout > 0) {
          conn.idleSince = performance.now();
          if (this.#sweepTimer === null) this.#scheduleSweep(this.limits.idleTimeout);
        }
      } else if (conn.goaway && !conn.closed) {
        // Drained after a GOAWAY: nothing more will use it.
        this.#forget(conn);
        conn.destroy();
      }
    }
    this.#drain();
  }

  /** Drops a connection that must not be reused (error, cancelled body). */
  discard(conn: PooledConnection): void {
    if (conn.h2) {
      this.#endStream(conn);
      return;
    }
    this.#forget(conn);
    conn.destroy();
    this.#drain();
  }

  #settle(w: Waiter, conn: PooledConnection): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
    if (w.timer !== undefined) clearTimeout(w.timer);
    w.resolve(conn);
  }

  /** Serves waiters in priority order while the limits allow. */
  #drain(): void {
    for (let i = 0; i < this.#waiters.length; i++) {
      const w = this.#waiters[i];
      const conn = this.#tryGet(w.key, w.settings, w.newConnection, w.multiplex);
      if (conn !== null) {
        this.#waiters.splice(i, 1);
        i--;
        this.#settle(w, conn);
      }
    }
  }

  /** Closes every idle connection (libsoup's abort does this too). */
  closeIdle(): void {
    for (const list of [...this.#idle.values()]) {
      for (const conn of [...list]) {
        this.#forget(conn);
        conn.destroy();
      }
    }
    this.#drain();
  }

  /** Rejects every waiter and destroys every connection. */
  destroyAll(err: Error): void {
    if (this.#sweepTimer !== null) clearTimeout(this.#sweepTimer);
    this.#sweepTimer = null;
    for (const w of this.#waiters.splice(0)) {
      if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.reject(err);
    }
    for (const set of [...this.#byKey.values()]) {
      for (const conn of [...set]) {
        this.#forget(conn);
        conn.destroy();
      }
    }
  }
}

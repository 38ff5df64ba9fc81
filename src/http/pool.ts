/**
 * The session's connection pool. Each pooled connection is one undici `Client` (one socket,
 * no pipelining), so undici does all HTTP/1.1 work while this file only decides *which*
 * connection a message gets. That is the part undici cannot do for us: libsoup's hard
 * limits on open connections per host (`maxConnsPerHost`) AND across the whole session
 * (`maxConns`), closing an idle connection elsewhere before a request has to wait, serving
 * waiters by priority, and handing a preconnected socket to the next request.
 */
import { Client } from "undici";
import type { Socket } from "node:net";
import { AbortError, TimeoutError } from "../errors.js";
import type { AbortLike } from "./cancellation.js";
import type { Connector } from "./connector.js";

export interface ClientSettings {
  /** Origin given to undici (the proxy's for plain-http proxying, else the target's). */
  origin: string;
  connector: Connector;
  idleTimeout: number;
  timeout: number;
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

  constructor(key: string, settings: ClientSettings, onGone: (c: PooledConnection) => void) {
    this.key = key;
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
            (s) => cb(null, s),
            (e: Error) => cb(e, null),
          );
          return;
        }
        connector((err, socket) => {
          if (socket) this.socket = socket;
          cb(err, socket);
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

  /** Opens the socket now (libsoup's preconnect) without sending anything. */
  preconnect(connector: Connector): Promise<void> {
    this.#pre = new Promise<Socket>((resolve, reject) => {
      connector((err, socket) => (err || !socket ? reject(err ?? new Error("no socket")) : resolve(socket)));
    });
    this.#pre.then(
      (s) => (this.socket = s),
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
    const now = this.#tryGet(key, settings, opts.newConnection);
    if (now !== null) return Promise.resolve(now);
    if (opts.signal?.aborted) return Promise.reject(new AbortError());
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        key,
        priority: opts.priority,
        seq: this.#seq++,
        newConnection: opts.newConnection,
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
    const conn = this.#tryGet(key, settings, true);
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

  #tryGet(key: string, settings: () => ClientSettings, newConnection: boolean): PooledConnection | null {
    if (!newConnection) {
      const idle = this.#idle.get(key);
      if (idle !== undefined && idle.length > 0) {
        const conn = idle.pop()!;
        conn.busy = true;
        return conn;
      }
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
    const conn = new PooledConnection(key, settings, (c) => {
      this.#forget(c);
      c.destroy();
      this.#drain();
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
    conn.closed = true;
  }

  /** Returns a connection after its response body was fully read. */
  release(conn: PooledConnection): void {
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

  /** Drops a connection that must not be reused (error, cancelled body). */
  discard(conn: PooledConnection): void {
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
      const conn = this.#tryGet(w.key, w.settings, w.newConnection);
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

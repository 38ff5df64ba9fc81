/**
 * `sessionkit/login/coordinator/redis`: credential sessions on many machines share one
 * saved session through Redis (node-redis v5).
 *
 *   import { RedisCoordinator } from "sessionkit/login/coordinator/redis";
 *   const coordinator = new RedisCoordinator({ url: process.env.REDIS_URL });
 *   const bsky = new AtprotoSession({ coordinator, coordinationKey: "bsky:alice" });
 *
 * Keys, all under one hash tag so a cluster keeps them in one slot:
 *   `<prefix>{<key>}:s`        hash: `v` version, `val` session string (absent once ended), `t` written at
 *   `<prefix>{<key>}:l`        the lock: a random token, SET NX PX <lease>
 *   `<prefix>{<key>}:g:<name>` a rate-limit gate: epoch ms, expiring when it opens
 *   `<prefix>{<key>}:c`        pub/sub channel: a write or a release happened
 *
 * The compare-and-set of the state, the lease extension and the release are Lua scripts
 * (one atomic step each; extend and release check the token, so a holder whose lease lapsed
 * cannot touch its successor's lock). Waiters are told by pub/sub on a second connection (one
 * pattern subscription for the whole prefix) and poll as well (every `pollMs`), so a lost
 * message or a reconnect costs latency, never correctness.
 */
import { createHash, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type * as NodeRedis from "redis";
import { InvalidArgumentError } from "../../errors.js";
import type { ChangeWatch, CoordinatorLease, CredentialCoordinator, SharedSessionState } from "../coordinator.js";
import { CoordinatorUnavailableError } from "../coordinator.js";
import { loadDriver } from "./driver.js";
import { eventWatch } from "./event-watch.js";

/** The node-redis calls this coordinator needs (a `createClient()` result has them). */
export interface RedisCoordinatorClient {
  hGetAll(key: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** For pub/sub on a second connection; without it waiters only poll. */
  duplicate?(): RedisCoordinatorClient;
  connect?(): Promise<unknown>;
  pSubscribe?(pattern: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
  close?(): Promise<unknown>;
  destroy?(): void;
  isOpen?: boolean;
  isReady?: boolean;
}

export interface RedisCoordinatorOptions {
  /** Connect to this Redis (e.g. `redis://127.0.0.1:6379`); the coordinator owns that client. */
  url?: string;
  /** Use an already connected node-redis client (not closed by `close()`; its `duplicate()` is used for pub/sub). */
  client?: RedisCoordinatorClient;
  /** Key prefix. @default "sessionkit:cred:" */
  prefix?: string;
  /** A command taking longer than this (ms) fails with COORDINATOR_UNAVAILABLE. @default 2000 */
  commandTimeout?: number;
  /** Waiters look again this often even without a pub/sub message (ms). @default 250 */
  pollMs?: number;
}

const WRITE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= v then return 0 end
v = v + 1
redis.call('HSET', KEYS[1], 'v', v, 't', ARGV[4])
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'val', ARGV[3]) else redis.call('HDEL', KEYS[1], 'val') end
redis.call('PUBLISH', ARGV[5], v)
return v`;

const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], '0')
end
return 1`;

// Never shortens a longer wait; the key disappears when the gate opens.
const RAISE_GATE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

interface Script {
  text: string;
  sha: string;
}
const script = (text: string): Script => ({ text, sha: createHash("sha1").update(text).digest("hex") });
const SCRIPTS = { write: script(WRITE), acquire: script(ACQUIRE), extend: script(EXTEND), release: script(RELEASE), raiseGate: script(RAISE_GATE) };

export class RedisCoordinator implements CredentialCoordinator {
  readonly kind = "redis";
  readonly prefix: string;
  readonly #client: RedisCoordinatorClient;
  readonly #ownsClient: boolean;
  readonly #timeout: number;
  readonly #pollMs: number;
  readonly #ready: Promise<void>;
  readonly #events = new EventEmitter().setMaxListeners(0);
  /** The one pattern subscription for every key of the prefix: settles true when live. */
  #subscribed: Promise<boolean> | null = null;
  #live = false;
  #subscriberReady: Promise<RedisCoordinatorClient | null> | null = null;
  /** The pub/sub connection once made (maybe still connecting). */
  #subscriber: RedisCoordinatorClient | null = null;
  #closed = false;
  #connected = false;

  constructor(options: RedisCoordinatorOptions) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("RedisCoordinator needs options");
    if ((options.url === undefined) === (options.client === undefined))
      throw new InvalidArgumentError("RedisCoordinator needs exactly one of url or client");
    this.prefix = options.prefix ?? "sessionkit:cred:";
    this.#timeout = options.commandTimeout ?? 2000;
    this.#pollMs = options.pollMs ?? 250;
    for (const [name, v] of [
      ["commandTimeout", this.#timeout],
      ["pollMs", this.#pollMs],
    ] as const) {
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
        throw new InvalidArgumentError(`RedisCoordinator option ${name} must be a positive number`);
    }
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
      this.#ready = Promise.resolve();
      this.#connected = true;
      return;
    }
    const { createClient } = loadDriver<typeof NodeRedis>("redis", "RedisCoordinator");
    const client = createClient({
      url: options.url,
      disableOfflineQueue: true,
      socket: { connectTimeout: this.#timeout, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000) },
    });
    // Failures reach callers as COORDINATOR_UNAVAILABLE; the event needs a listener or Node exits.
    client.on("error", () => undefined);
    this.#client = client as unknown as RedisCoordinatorClient;
    this.#ownsClient = true;
    this.#ready = client.connect().then(
      () => {
        this.#connected = true;
        // A close() that raced the first connect must not leave the connection open.
        if (this.#closed) void closeClient(this.#client);
      },
      () => undefined,
    );
  }

  /** Waits (at most one command timeout) for the first connection; later outages fail fast. */
  async #firstConnect(): Promise<void> {
    if (this.#connected) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#ready, new Promise((r) => (timer = setTimeout(r, this.#timeout)).unref())]);
    clearTimeout(timer);
  }

  #keys(key: string) {
    const base = `${this.prefix}{${key}}`;
    return { state: `${base}:s`, lock: `${base}:l`, channel: `${base}:c`, gate: (name: string) => `${base}:g:${name}` };
  }

  async read(key: string): Promise<SharedSessionState | null> {
    const hash = (await this.#run(() => this.#client.hGetAll(this.#keys(key).state))) as Record<string, string> | null;
    const version = Number(hash?.v);
    if (hash === null || !Number.isInteger(version) || version <= 0) return null;
    return { version, value: typeof hash.val === "string" ? hash.val : null, updatedAt: Number(hash.t) || 0 };
  }

  async write(key: string, expected: number | null, value: string | null): Promise<SharedSessionState | null> {
    const k = this.#keys(key);
    const now = Date.now();
    const args = [expected === null ? "" : String(expected), value === null ? "0" : "1", value ?? "", String(now), k.channel];
    const version = Number(await this.#script(SCRIPTS.write, k.state, args));
    return version > 0 ? { version, value, updatedAt: now } : null;
  }

  async acquire(key: string, leaseMs: number): Promise<CoordinatorLease | null> {
    const token = randomUUID();
    const got = await this.#script(SCRIPTS.acquire, this.#keys(key).lock, [token, String(Math.max(1, Math.ceil(leaseMs)))]);
    return Number(got) === 1 ? { key, token } : null;
  }

  async extend(lease: CoordinatorLease, leaseMs: number): Promise<boolean> {
    return Number(await this.#script(SCRIPTS.extend, this.#keys(lease.key).lock, [lease.token, String(Math.max(1, Math.ceil(leaseMs)))])) === 1;
  }

  async release(lease: CoordinatorLease): Promise<void> {
    const k = this.#keys(lease.key);
    await this.#script(SCRIPTS.release, k.lock, [lease.token, k.channel]);
  }

  watch(key: string): ChangeWatch {
    const w = eventWatch(this.#events, this.#keys(key).channel, this.#pollMs);
    // A write published before our subscription was live would be missed: once it is live,
    // count that as a change, so the caller reads once more.
    if (!this.#live) void this.#subscribe().then((live) => live && w.notify());
    return w;
  }

  async readGate(key: string, name: string): Promise<number> {
    const v = Number(await this.#run(() => this.#client.get(this.#keys(key).gate(name))));
    return Number.isFinite(v) ? v : 0;
  }

  async raiseGate(key: string, name: string, until: number): Promise<void> {
    const ttl = Math.ceil(until - Date.now());
    if (ttl <= 0) return;
    await this.#script(SCRIPTS.raiseGate, this.#keys(key).gate(name), [String(Math.round(until)), String(ttl)]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#events.removeAllListeners();
    if (this.#subscriberReady !== null) {
      // A subscriber still connecting is closed by #ensureSubscriber when it gets there.
      let timer: NodeJS.Timeout | undefined;
      const sub = await Promise.race([
        this.#subscriberReady.catch(() => null),
        new Promise<null>((r) => (timer = setTimeout(r, this.#timeout, null)).unref()),
      ]);
      clearTimeout(timer);
      if (sub !== null) await closeClient(sub);
      else if (this.#subscriber?.isOpen) this.#subscriber.destroy?.();
    }
    if (this.#ownsClient) {
      await this.#firstConnect();
      if (this.#connected) await closeClient(this.#client);
      else this.#client.destroy?.();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Subscribes, once, to the channels of every key under the prefix (one pattern: no
   * subscription per key to grow or to take down, no round trip per renewal); false when
   * pub/sub is unavailable (waiters then poll).
   */
  #subscribe(): Promise<boolean> {
    this.#subscribed ??= (async () => {
      const sub = await this.#ensureSubscriber();
      if (sub === null || sub.pSubscribe === undefined || this.#closed) return false;
      const pattern = `${this.prefix.replace(/[*?[\]\\]/g, "\\$&")}{*}:c`;
      await sub.pSubscribe(pattern, (_message, channel) => this.#events.emit(channel));
      this.#live = true;
      return true;
    })().catch(() => {
      // Polling still works; try pub/sub again with the next watch.
      this.#subscribed = null;
      return false;
    });
    return this.#subscribed;
  }

  #ensureSubscriber(): Promise<RedisCoordinatorClient | null> {
    this.#subscriberReady ??= (async () => {
      await this.#firstConnect();
      if (!this.#connected || typeof this.#client.duplicate !== "function") return null;
      const sub = this.#client.duplicate();
      sub.on?.("error", () => undefined);
      this.#subscriber = sub;
      await sub.connect?.();
      if (this.#closed) {
        await closeClient(sub);
        return null;
      }
      return sub;
    })();
    return this.#subscriberReady;
  }

  /** EVALSHA, loading the script with EVAL when the server does not know it yet. */
  async #script(s: Script, key: string, args: string[]): Promise<unknown> {
    const opts = { keys: [key], arguments: args };
    try {
      return await this.#run(() => this.#client.evalSha(s.sha, opts));
    } catch (error) {
      if (error instanceof CoordinatorUnavailableError && /NOSCRIPT/.test(String((error.cause as Error)?.message))) {
        return this.#run(() => this.#client.eval(s.text, opts));
      }
      throw error;
    }
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new CoordinatorUnavailableError("The Redis coordinator is closed");
    await this.#firstConnect();
    if (!this.#connected || this.#client.isReady === false) {
      throw new CoordinatorUnavailableError("Redis is not connected (reconnecting in the background)");
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#timeout} ms`)), this.#timeout);
          timer.unref();
        }),
      ]);
    } catch (error) {
      throw new CoordinatorUnavailableError("The Redis coordinator failed", { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

async function closeClient(c: RedisCoordinatorClient | null): Promise<void> {
  if (c === null) return;
  try {
    if (c.isReady !== false && c.close !== undefined) await c.close();
    else if (c.isOpen) c.destroy?.();
  } catch {
    try {
      c.destroy?.();
    } catch {
      // already closed
    }
  }
}

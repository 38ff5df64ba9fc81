/**
 * `sessionkit/stores/redis`: sessions in Redis (or a Redis Cluster) through node-redis v5,
 * the client maintained by Redis itself.
 *
 * Layout: one hash per session at `<prefix>{<id>}` with fields `c` (createdAt),
 * `e` (expiresAt) and `d:<key>` (one JSON value per session key), expiring by PEXPIRE.
 * One key per session means every operation touches one slot, so it works on a cluster;
 * the `{id}` hash tag keeps that true if more keys per session are ever added.
 *
 * Per-key merging is native: a patch is HSET/HDEL of the changed fields, run in a Lua
 * script that first checks the session still exists, so a concurrent destroy wins and is
 * never undone. Reading is one HGETALL: one round trip per request when nothing changed.
 *
 * Store down: the client is created with the offline queue disabled, so commands fail at
 * once instead of piling up, while node-redis keeps reconnecting in the background; every
 * failure surfaces as `StoreUnavailableError` and the next request after Redis is back works.
 */
import { createHash } from "node:crypto";
import { createClient, createCluster } from "redis";
import { InvalidArgumentError } from "../errors.js";
import { StoreUnavailableError } from "../server/errors.js";
import { emptyRecord, type JsonValue } from "../server/json.js";
import type { SessionPatch, SessionStore, StoredSession } from "./contract.js";

/** The node-redis calls this store needs; both `createClient()` and `createCluster()` results have them. */
export interface RedisLikeClient {
  hGetAll(key: string): Promise<unknown>;
  del(key: string | string[]): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  isOpen: boolean;
  isReady?: boolean;
}

export interface RedisStoreOptions {
  /** Connect to this Redis (e.g. `redis://127.0.0.1:6379`); the store owns that client. */
  url?: string;
  /** Connect to a Redis Cluster through these nodes; the store owns that client. */
  cluster?: { rootNodes: string[] };
  /** Use an already connected node-redis client or cluster (not closed by `close()`). */
  client?: RedisLikeClient;
  /** Key prefix. @default "sess:" */
  prefix?: string;
  /** A command taking longer than this (ms) fails with STORE_UNAVAILABLE. @default 2000 */
  commandTimeout?: number;
}

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[2], 'e', ARGV[3])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

// Refuses anything that is not one of our hashes (absent, destroyed, or garbage).
const UPDATE = `
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' or redis.call('HEXISTS', KEYS[1], 'c') == 0 then return 0 end
local i = 4
for j = 1, tonumber(ARGV[3]) do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); i = i + 2 end
while i <= #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]); i = i + 1 end
redis.call('HSET', KEYS[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

const sha1 = (s: string) => createHash("sha1").update(s).digest("hex");
const SCRIPTS = { create: { text: CREATE, sha: sha1(CREATE) }, update: { text: UPDATE, sha: sha1(UPDATE) } };

export class RedisStore implements SessionStore {
  readonly prefix: string;
  readonly #client: RedisLikeClient;
  readonly #ownsClient: boolean;
  readonly #ready: Promise<unknown>;
  readonly #timeout: number;
  #closed = false;
  #connected = false;

  constructor(options: RedisStoreOptions) {
    const given = [options.url, options.cluster, options.client].filter((x) => x !== undefined).length;
    if (given !== 1) throw new InvalidArgumentError("RedisStore needs exactly one of url, cluster or client");
    this.prefix = options.prefix ?? "sess:";
    this.#timeout = options.commandTimeout ?? 2000;
    if (!Number.isFinite(this.#timeout) || this.#timeout <= 0) {
      throw new InvalidArgumentError("RedisStore option commandTimeout must be a positive number");
    }
    const socket = {
      connectTimeout: this.#timeout,
      // Keep retrying forever, backing off to 2 s: the store heals itself when Redis returns.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
    };
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
      this.#ready = Promise.resolve();
      this.#connected = true;
      return;
    }
    this.#ownsClient = true;
    if (options.url !== undefined) {
      const client = createClient({ url: options.url, disableOfflineQueue: true, socket });
      client.on("error", () => {
        // Connection errors are reported per command as STORE_UNAVAILABLE; the event must
        // have a listener or Node would crash the process on it.
      });
      this.#client = client as unknown as RedisLikeClient;
      this.#ready = client.connect().then(
        () => this.#onConnected(),
        () => undefined,
      );
    } else {
      const cluster = createCluster({
        rootNodes: (options.cluster?.rootNodes ?? []).map((url) => ({ url })),
        defaults: { disableOfflineQueue: true, socket },
      });
      cluster.on("error", () => undefined);
      this.#client = cluster as unknown as RedisLikeClient;
      this.#ready = cluster.connect().then(
        () => this.#onConnected(),
        () => undefined,
      );
    }
  }

  /** Resolves once the first connection attempt settled (useful in tests and at startup). */
  ready(): Promise<void> {
    return this.#ready.then(() => undefined);
  }

  /** The Redis key for a session id. */
  key(id: string): string {
    return `${this.prefix}{${id}}`;
  }

  async get(id: string): Promise<StoredSession | undefined> {
    let hash: unknown;
    try {
      hash = await this.#run(() => this.#client.hGetAll(this.key(id)));
    } catch (error) {
      // A non-hash value under our key is garbage, not an outage: the session is absent.
      if (error instanceof StoreUnavailableError && /WRONGTYPE/.test(String((error.cause as Error)?.message))) {
        return undefined;
      }
      throw error;
    }
    return decode(hash);
  }

  async create(id: string, session: StoredSession): Promise<boolean> {
    const ttl = session.expiresAt - Date.now();
    if (ttl <= 0) return true; // already expired: nothing to keep
    const args = [String(Math.ceil(ttl)), String(session.createdAt), String(session.expiresAt)];
    for (const key of Object.keys(session.data)) args.push(`d:${key}`, JSON.stringify(session.data[key]));
    return (await this.#script(SCRIPTS.create, this.key(id), args)) === 1;
  }

  async update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean> {
    const ttl = expiresAt - Date.now();
    const setKeys = Object.keys(patch.set);
    if (ttl <= 0) {
      // Expiring now: only delete when the entry still exists, so the answer stays honest.
      const existed = await this.get(id);
      if (existed !== undefined) await this.destroy(id);
      return false;
    }
    const args = [String(Math.ceil(ttl)), String(expiresAt), String(setKeys.length)];
    for (const key of setKeys) args.push(`d:${key}`, JSON.stringify(patch.set[key]));
    for (const key of patch.delete) args.push(`d:${key}`);
    return (await this.#script(SCRIPTS.update, this.key(id), args)) === 1;
  }

  async touch(id: string, expiresAt: number): Promise<boolean> {
    return this.update(id, { set: {}, delete: [] }, expiresAt);
  }

  async destroy(id: string): Promise<void> {
    await this.#run(() => this.#client.del(this.key(id)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ownsClient) return;
    // node-redis leaks the socket when destroyed mid-connect, so give a pending first
    // connect a moment to finish; a Redis that stays away is then abandoned with destroy().
    if (!this.#connected) await this.#waitForFirstConnect();
    const c = this.#client;
    if (this.#connected && c.isReady !== false) {
      try {
        await (c.close?.() ?? c.quit?.());
        return;
      } catch {
        // fall through to destroy
      }
    }
    this.#destroyClient();
  }

  async #waitForFirstConnect(): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.#ready, new Promise((r) => (t = setTimeout(r, this.#timeout)).unref())]);
    clearTimeout(t);
  }

  #destroyClient(): void {
    const c = this.#client as RedisLikeClient & { destroy?: () => void };
    try {
      if (c.isOpen) c.destroy?.();
    } catch {
      // already closed
    }
  }

  /** A close() that raced the first connect must not leave that connection open. */
  #onConnected(): void {
    this.#connected = true;
    if (this.#closed) this.#destroyClient();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** EVALSHA, loading the script with EVAL on the node that does not know it yet. */
  async #script(script: { text: string; sha: string }, key: string, args: string[]): Promise<unknown> {
    const opts = { keys: [key], arguments: args };
    try {
      return await this.#run(() => this.#client.evalSha(script.sha, opts));
    } catch (error) {
      if (error instanceof StoreUnavailableError && /NOSCRIPT/.test(String((error.cause as Error)?.message))) {
        return this.#run(() => this.#client.eval(script.text, opts));
      }
      throw error;
    }
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailableError("The Redis session store is closed");
    // Only the very first connection is waited for (briefly), so that requests arriving
    // during startup do not fail; after that, commands fail fast while reconnecting.
    if (!this.#connected) await this.#waitForFirstConnect();
    if (!this.#connected || this.#client.isReady === false) {
      throw new StoreUnavailableError("Redis is not connected (reconnecting in the background)");
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      // node-redis has per-command timeouts, but not on every client shape a user may pass in.
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#timeout} ms`)), this.#timeout);
          timer.unref();
        }),
      ]);
    } catch (error) {
      throw new StoreUnavailableError("The Redis session store failed", { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

function decode(hash: unknown): StoredSession | undefined {
  if (typeof hash !== "object" || hash === null) return undefined;
  const fields = hash as Record<string, string>;
  if (Object.keys(fields).length === 0) return undefined;
  const createdAt = Number(fields.c);
  const expiresAt = Number(fields.e);
  if (!Number.isFinite(createdAt) || !Number.isFinite(expiresAt) || expiresAt <= Date.now()) return undefined;
  const data = emptyRecord();
  for (const field of Object.keys(fields)) {
    if (!field.startsWith("d:")) continue;
    try {
      data[field.slice(2)] = JSON.parse(fields[field]) as JsonValue;
    } catch {
      return undefined; // garbage in the hash: unreadable, so absent
    }
  }
  return { data, createdAt, expiresAt };
}

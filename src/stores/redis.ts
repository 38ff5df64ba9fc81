/**
 * `sessionkit/stores/redis`: sessions in Redis (or a Redis Cluster) through node-redis v5,
 * the client maintained by Redis itself.
 *
 * Layout: one hash per session at `<prefix>{<id>}` with fields `c` (createdAt),
 * `e` (expiresAt), `o` (owner), `m` (maxAge) and `d:<key>` (one JSON value per session
 * key), expiring by PEXPIRE. One key per session means every operation touches one slot,
 * so it works on a cluster. The owner index is one set per owner at
 * `<prefix>owner:{<owner>}`, living as long as its longest session; being another key
 * (another slot), it is kept by separate commands: an id is added to the index *before*
 * its session names the owner, so a session is never owned without being indexed.
 *
 * Per-key merging is native: a patch is HSET/HDEL of the changed fields, run in a Lua
 * script that first checks the session still exists, so a concurrent destroy wins and is
 * never undone. Reading is one HGETALL: one round trip per request when nothing changed.
 *
 * Store down: the client is created with the offline queue disabled, so commands fail at
 * once instead of piling up, while node-redis keeps reconnecting in the background. The
 * first connection attempt settles `ready()` whether it worked or not; while disconnected,
 * every call fails at once with `StoreUnavailableError`, and the next request after Redis
 * is back works.
 *
 * With `notifications: true`, ended sessions (destroy, regenerate, revokeOwner) are
 * published on `<prefix>ended` so that every node's `onSessionEnded` hears them.
 */
import { randomBytes } from "node:crypto";
import type * as NodeRedis from "redis";
import { InvalidArgumentError } from "../errors.js";
import { StoreContractError, StoreUnavailableError } from "../server/errors.js";
import { emptyRecord, type JsonValue } from "../server/json.js";
import type { SessionEndedEvent, SessionPatch, SessionStore, StoredSession } from "./contract.js";
import { loadDriver } from "./driver.js";
import { RedisEvents, type RedisSubscriber } from "./redis-events.js";
import * as S from "./redis-scripts.js";

/** The node-redis calls this store needs; both `createClient()` and `createCluster()` results have them. */
export interface RedisLikeClient {
  hGetAll(key: string): Promise<unknown>;
  del(key: string | string[]): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  /** For `list`/`count`/`clear` on one node. */
  scanIterator?(options: { MATCH: string; COUNT?: number; TYPE?: string }): AsyncIterable<string[]>;
  /** For `list`/`count`/`clear` on a cluster: each master is scanned. */
  masters?: unknown[];
  nodeClient?(node: unknown): Promise<RedisLikeClient> | RedisLikeClient;
  /** A second connection for the `notifications` subscription. */
  duplicate?(): RedisSubscriber;
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
  /**
   * Publish ended sessions on `<prefix>ended` and let `onSessionEnded` listeners hear those
   * of every node (one extra connection per store, made when the first listener subscribes).
   * Enable it on every node. @default false
   */
  notifications?: boolean;
}

type Driver = Pick<typeof NodeRedis, "createClient" | "createCluster">;

export class RedisStore implements SessionStore {
  readonly prefix: string;
  readonly #client: RedisLikeClient;
  readonly #ownsClient: boolean;
  readonly #ready: Promise<unknown>;
  readonly #timeout: number;
  readonly #events: RedisEvents | undefined;
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
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#ownsClient = false;
      this.#ready = Promise.resolve();
      this.#connected = true;
    } else {
      const { createClient, createCluster } = loadDriver<Driver>("redis", "RedisStore");
      const socket = {
        connectTimeout: this.#timeout,
        // Keep retrying forever, backing off to 2 s: the store heals itself when Redis returns.
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
      };
      this.#ownsClient = true;
      const client =
        options.url !== undefined
          ? createClient({ url: options.url, disableOfflineQueue: true, socket })
          : createCluster({
              rootNodes: (options.cluster?.rootNodes ?? []).map((url) => ({ url })),
              defaults: { disableOfflineQueue: true, socket },
            });
      // Reported per command as STORE_UNAVAILABLE; an 'error' event without a listener
      // would crash the process. The first one also settles `ready()`: node-redis keeps
      // `connect()` pending through its reconnect attempts while Redis is down.
      let firstAttemptFailed: () => void = () => undefined;
      const failed = new Promise<void>((resolve) => (firstAttemptFailed = resolve));
      client.on("error", () => firstAttemptFailed());
      this.#client = client as unknown as RedisLikeClient;
      const connected = client.connect().then(
        () => this.#onConnected(),
        () => undefined,
      );
      this.#ready = Promise.race([connected, failed]);
    }
    this.#events =
      options.notifications === true
        ? new RedisEvents(`${this.prefix}ended`, randomBytes(9).toString("base64url"), () => this.#subscriber())
        : undefined;
  }

  /** Resolves once the first connection attempt settled, whether it connected or not. */
  ready(): Promise<void> {
    return this.#ready.then(() => undefined);
  }

  /** The Redis key for a session id. */
  key(id: string): string {
    return `${this.prefix}{${id}}`;
  }

  /** The Redis key of an owner's index set. */
  ownerKey(owner: string): string {
    return `${this.prefix}owner:{${owner}}`;
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
    const owner = session.owner ?? "";
    const args = [String(Math.ceil(ttl)), String(session.createdAt), String(session.expiresAt), owner, maxAgeArg(session.maxAge)];
    for (const key of Object.keys(session.data)) args.push(`d:${key}`, JSON.stringify(session.data[key]));
    if (owner !== "") await this.#indexOwner(owner, id, ttl);
    return (await this.#script(S.CREATE, this.key(id), args)) === 1;
  }

  async update(id: string, patch: SessionPatch, expiresAt: number): Promise<boolean> {
    const ttl = expiresAt - Date.now();
    if (ttl <= 0) {
      // Expiring now: only delete when the entry still exists, so the answer stays honest.
      const existed = await this.get(id);
      if (existed !== undefined) await this.destroy(id);
      return false;
    }
    const setKeys = Object.keys(patch.set);
    const ownerAction = patch.owner === undefined ? "" : patch.owner === null ? "-" : "=";
    const maxAgeAction = patch.maxAge === undefined ? "" : patch.maxAge === null ? "-" : "=";
    const args = [
      String(Math.ceil(ttl)),
      String(expiresAt),
      String(setKeys.length),
      ownerAction,
      patch.owner ?? "",
      maxAgeAction,
      maxAgeArg(patch.maxAge),
    ];
    for (const key of setKeys) args.push(`d:${key}`, JSON.stringify(patch.set[key]));
    for (const key of patch.delete) args.push(`d:${key}`);
    // Indexed before the session names its new owner (see the file comment).
    if (typeof patch.owner === "string") await this.#indexOwner(patch.owner, id, ttl);
    const result = await this.#script(S.UPDATE, this.key(id), args);
    if (!Array.isArray(result)) return false;
    const before = String(result[1]);
    const after = String(result[2]);
    if (before !== "" && before !== after) await this.#unindexOwner(before, [id]);
    // The owner set must live as long as its longest session: extend it with this one.
    if (after !== "" && typeof patch.owner !== "string") await this.#indexOwner(after, id, ttl);
    return true;
  }

  async touch(id: string, expiresAt: number): Promise<boolean> {
    return this.update(id, { set: {}, delete: [] }, expiresAt);
  }

  async destroy(id: string): Promise<void> {
    const owner = await this.#script(S.DESTROY, this.key(id), []);
    if (typeof owner === "string" && owner !== "") await this.#unindexOwner(owner, [id]);
  }

  /** Ids of every live session under this prefix (SCAN; on a cluster, every master). */
  async list(): Promise<string[]> {
    const keys = await this.#scan(`${glob(this.prefix)}{*}`, "hash");
    const start = this.prefix.length + 1;
    return keys.filter((k) => k.endsWith("}")).map((k) => k.slice(start, -1));
  }

  async count(): Promise<number> {
    return (await this.list()).length;
  }

  /** Deletes every session and owner set under this prefix. */
  async clear(): Promise<void> {
    const keys = [...(await this.#scan(`${glob(this.prefix)}{*}`)), ...(await this.#scan(`${glob(this.prefix)}owner:{*}`))];
    // One DEL per key: on a cluster the keys live in different slots.
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k) => this.#run(() => this.#client.del(k))));
    }
  }

  /** Ids of the live sessions of `owner`; ids whose session is gone are pruned from the index. */
  async listByOwner(owner: string): Promise<string[]> {
    const members = await this.#ownerMembers(owner);
    const owned = await Promise.all(members.map((id) => this.#script(S.IS_OWNED_BY, this.key(id), [owner])));
    const dead = members.filter((_, i) => owned[i] !== 1);
    if (dead.length > 0) await this.#unindexOwner(owner, dead);
    return members.filter((_, i) => owned[i] === 1);
  }

  /**
   * Destroys every session of `owner`; resolves the ids of those that were live. A session
   * whose owner changed meanwhile is left alone; only the ids seen are taken out of the
   * index, so a login racing with the revocation keeps its index entry.
   */
  async destroyByOwner(owner: string): Promise<string[]> {
    const members = await this.#ownerMembers(owner);
    const done = await Promise.all(members.map((id) => this.#script(S.DESTROY_IF_OWNER, this.key(id), [owner])));
    if (members.length > 0) await this.#unindexOwner(owner, members);
    return members.filter((_, i) => done[i] === 1);
  }

  async publishEnded(event: SessionEndedEvent): Promise<void> {
    if (this.#events === undefined) return;
    const message = this.#events.encode(event);
    // PUBLISH from a script: no extra client method needed, and a cluster forwards it to every node.
    await this.#run(() =>
      this.#client.eval("return redis.call('PUBLISH', ARGV[1], ARGV[2])", { keys: [], arguments: [this.#events!.channel, message] }),
    );
  }

  subscribeEnded(listener: (event: SessionEndedEvent) => void): () => void {
    if (this.#events === undefined) return () => undefined;
    return this.#events.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#events?.close();
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #subscriber(): RedisSubscriber {
    if (typeof this.#client.duplicate !== "function") {
      throw new StoreContractError("RedisStore notifications need a client with duplicate() (a node-redis client or cluster)");
    }
    return this.#client.duplicate();
  }

  async #indexOwner(owner: string, id: string, ttl: number): Promise<void> {
    await this.#script(S.OWNER_ADD, this.ownerKey(owner), [String(Math.ceil(ttl)), id]);
  }

  async #unindexOwner(owner: string, ids: string[]): Promise<void> {
    await this.#script(S.OWNER_REMOVE, this.ownerKey(owner), ids);
  }

  async #ownerMembers(owner: string): Promise<string[]> {
    const members = await this.#script(S.OWNER_MEMBERS, this.ownerKey(owner), []);
    return Array.isArray(members) ? members.map(String) : [];
  }

  async #scan(match: string, type?: string): Promise<string[]> {
    const c = this.#client;
    const nodes: RedisLikeClient[] = [];
    if (Array.isArray(c.masters) && typeof c.nodeClient === "function") {
      for (const master of c.masters) nodes.push(await this.#run(async () => c.nodeClient!(master)));
    } else {
      nodes.push(c);
    }
    const found = new Set<string>();
    for (const node of nodes) {
      if (typeof node.scanIterator !== "function") {
        throw new StoreContractError("RedisStore list/count/clear need a client with scanIterator() (a node-redis client or cluster)");
      }
      const opts = type === undefined ? { MATCH: match, COUNT: 1000 } : { MATCH: match, COUNT: 1000, TYPE: type };
      await this.#run(async () => {
        for await (const batch of node.scanIterator!(opts)) for (const key of batch) found.add(key);
      });
    }
    return [...found];
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

  /** EVALSHA, loading the script with EVAL on the node that does not know it yet. */
  async #script(script: S.Script, key: string, args: string[]): Promise<unknown> {
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
    // Only the first connection attempt is waited for, so that requests arriving during
    // startup do not fail; after it, commands fail at once while reconnecting.
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
      if (error instanceof StoreContractError) throw error;
      throw new StoreUnavailableError("The Redis session store failed", { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}

function maxAgeArg(maxAge: number | null | undefined): string {
  return typeof maxAge === "number" ? String(maxAge) : "";
}

/** `s` as a literal inside a SCAN MATCH pattern. */
function glob(s: string): string {
  return s.replace(/[*?[\]\\]/g, "\\$&");
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
  const out: StoredSession = { data, createdAt, expiresAt };
  if (typeof fields.o === "string" && fields.o !== "") out.owner = fields.o;
  const maxAge = Number(fields.m);
  if (fields.m !== undefined && Number.isFinite(maxAge) && maxAge > 0) out.maxAge = maxAge;
  return out;
}

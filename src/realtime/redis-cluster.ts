/**
 * The Redis backplane behind a clustered RealtimeServer. Loaded only through
 * `createRedisCluster()` (a dynamic import), so the `redis` package is needed only by
 * those who cluster.
 *
 * Layout, under a prefix P:
 *   P s:<id>   hash   principal, props (JSON), th (token SHA-256), in, out, owner
 *   P o:<id>   stream the frames numbered for the client, entry id "<seq>-0", field b
 *   P x:<id>   string "<reasonId> <token hash>": why a session closed while its client was away
 *   P c:<id>   pub/sub channel of the session: "d <seq> <body>" deliver, "t <node>"
 *                     taken over, "x <reasonId>" close
 *
 * Every frame for a client is numbered and stored by one Lua script (HINCRBY, XADD,
 * PUBLISH), so whichever node sends it, the numbering is gap-free and the frame is in
 * Redis before anyone can see it. The node holding the session receives it through the
 * channel; a node that resumes the session subscribes first and then reads the stream,
 * so nothing falls between the two. Both keys live for the keep-alive window and are
 * refreshed while the client is connected, so a crashed node's sessions expire.
 */
import { createHash, randomBytes } from "node:crypto";
import { createClient, type RedisClientType } from "redis";
import { SessionKitError } from "../errors.js";
import type { ClusterBackplane, ClusterNodeHooks, RedisClusterOptions, SharedSessionRecord } from "./cluster.js";
import { CloseReason } from "./close-reason.js";
import { filterPredicate, type SessionFilter } from "./properties.js";
import type { ServerSession } from "./server-session.js";

const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'out', 1)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], seq .. '-0', 'b', ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[3], 'd ' .. seq .. ' ' .. ARGV[1])
return seq
`;

/**
 * APPEND for many sessions in one call (a fan-out): the same steps per session, one round
 * trip and one script run per batch instead of one per session. KEYS: hash and stream of
 * each session in turn; ARGV: body, stream cap, then each session's channel.
 */
const APPEND_MANY = `
local n = 0
for i = 1, #KEYS / 2 do
  local h = KEYS[2 * i - 1]
  if redis.call('EXISTS', h) == 1 then
    local seq = redis.call('HINCRBY', h, 'out', 1)
    local s = KEYS[2 * i]
    redis.call('XADD', s, 'MAXLEN', ARGV[2], seq .. '-0', 'b', ARGV[1])
    local ttl = redis.call('PTTL', h)
    if ttl > 0 then redis.call('PEXPIRE', s, ttl) end
    redis.call('PUBLISH', ARGV[i + 2], 'd ' .. seq .. ' ' .. ARGV[1])
    n = n + 1
  end
end
return n
`;

/** Sessions per APPEND_MANY call: long enough to save round trips, short enough not to hold Redis up. */
const FANOUT_BATCH = 256;

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");
const SHA = { append: sha1(APPEND), appendMany: sha1(APPEND_MANY) };

export class RedisBackplane implements ClusterBackplane {
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #cmd: RedisClientType;
  readonly #sub: RedisClientType;
  readonly #held = new Set<string>();
  #hooks: ClusterNodeHooks | undefined;
  #closed = false;
  /** Stream length cap: older frames are dropped, and a resume that needs them fails. */
  #streamLimit = 10_000;

  private constructor(cmd: RedisClientType, sub: RedisClientType, prefix: string, nodeId: string) {
    this.#cmd = cmd;
    this.#sub = sub;
    this.#prefix = prefix;
    this.nodeId = nodeId;
  }

  static async connect(options: RedisClusterOptions): Promise<RedisBackplane> {
    let started = false;
    const cmd = createClient({
      url: options.url,
      socket: {
        // Fail fast on the first connection (node-redis would otherwise retry forever and
        // the server would never start); once running, retry with a capped backoff.
        reconnectStrategy: (retries: number, cause: Error) => (started ? Math.min(50 * 2 ** retries, 2000) : cause),
      },
    }) as RedisClientType;
    const sub = cmd.duplicate();
    // Connection errors also reject the pending commands, which report them; the event
    // itself must have a listener or it would crash the process.
    cmd.on("error", () => {});
    sub.on("error", () => {});
    try {
      await Promise.all([cmd.connect(), sub.connect()]);
    } catch (err) {
      for (const c of [cmd, sub]) if (c.isOpen) c.destroy();
      throw new SessionKitError("CLUSTER_UNAVAILABLE", "Could not connect to the cluster's Redis", { cause: err });
    }
    started = true;
    return new RedisBackplane(cmd, sub, options.prefix ?? "sessionkit:rt:", options.nodeId ?? randomBytes(6).toString("hex"));
  }

  #hash(id: string): string {
    return `${this.#prefix}s:${id}`;
  }
  #stream(id: string): string {
    return `${this.#prefix}o:${id}`;
  }
  #channel(id: string): string {
    return `${this.#prefix}c:${id}`;
  }
  #grave(id: string): string {
    return `${this.#prefix}x:${id}`;
  }

  async start(hooks: ClusterNodeHooks, settings: { replayBufferSize: number }): Promise<void> {
    this.#hooks = hooks;
    this.#streamLimit = settings.replayBufferSize;
  }

  #report = (err: unknown): void => {
    if (!this.#closed) this.#hooks?.error(err instanceof Error ? err : new Error(String(err)));
  };

  async #subscribe(id: string): Promise<void> {
    if (this.#held.has(id)) return;
    this.#held.add(id);
    await this.#sub.subscribe(this.#channel(id), (message) => this.#onMessage(id, message));
  }

  async #unsubscribe(id: string): Promise<void> {
    if (!this.#held.delete(id) || this.#closed) return;
    await this.#sub.unsubscribe(this.#channel(id));
  }

  #onMessage(id: string, message: string): void {
    const hooks = this.#hooks;
    if (!hooks || !this.#held.has(id)) return;
    const kind = message[0];
    if (kind === "d") {
      const space = message.indexOf(" ", 2);
      hooks.deliver(id, Number(message.slice(2, space)), message.slice(space + 1));
    } else if (kind === "t") {
      if (message.slice(2) === this.nodeId) return;
      hooks.release(id);
      this.#unsubscribe(id).catch(this.#report);
    } else if (kind === "x") {
      hooks.close(id, Number(message.slice(2)));
    }
  }

  async register(session: ServerSession, keepAliveMs: number): Promise<void> {
    await this.#subscribe(session.id);
    await this.#cmd
      .multi()
      .hSet(this.#hash(session.id), {
        principal: session.principal,
        props: JSON.stringify(session.properties),
        th: session.tokenHash,
        in: "0",
        out: "0",
        owner: this.nodeId,
      })
      .pExpire(this.#hash(session.id), keepAliveMs)
      .exec();
  }

  async load(sessionId: string, clientAck: number): Promise<SharedSessionRecord | null> {
    const [h, entries] = await Promise.all([
      this.#cmd.hGetAll(this.#hash(sessionId)),
      this.#cmd.xRange(this.#stream(sessionId), `${clientAck + 1}-0`, "+"),
    ]);
    if (!h || h.th === undefined) return null;
    const outSeq = Number(h.out);
    const frames: Array<[number, string]> = entries.map((e) => [Number(e.id.split("-")[0]), String(e.message.b)]);
    let contiguous = true;
    for (let i = 0; i < frames.length; i++) if (frames[i]![0] !== clientAck + 1 + i) contiguous = false;
    // Frames the client has not acknowledged must all still be in the stream.
    if (clientAck < outSeq && (frames.length === 0 || frames[0]![0] !== clientAck + 1)) contiguous = false;
    return {
      principal: h.principal ?? "",
      properties: JSON.parse(h.props ?? "{}") as Record<string, string>,
      tokenHash: h.th,
      inSeq: Number(h.in ?? 0),
      outSeq,
      frames: contiguous ? frames : null,
    };
  }

  async claim(sessionId: string): Promise<void> {
    await this.#subscribe(sessionId);
    await this.#cmd.hSet(this.#hash(sessionId), "owner", this.nodeId);
    await this.#cmd.publish(this.#channel(sessionId), `t ${this.nodeId}`);
  }

  async append(sessionId: string, body: string): Promise<boolean> {
    const args = [this.#hash(sessionId), this.#stream(sessionId), body, String(this.#streamLimit), this.#channel(sessionId)];
    return Number(await this.#script(APPEND, SHA.append, 2, args)) > 0;
  }

  async appendMany(sessionIds: readonly string[], body: string): Promise<number> {
    const batches: Array<Promise<number>> = [];
    for (let i = 0; i < sessionIds.length; i += FANOUT_BATCH) {
      const ids = sessionIds.slice(i, i + FANOUT_BATCH);
      const keys = ids.flatMap((id) => [this.#hash(id), this.#stream(id)]);
      const args = [...keys, body, String(this.#streamLimit), ...ids.map((id) => this.#channel(id))];
      batches.push(this.#script(APPEND_MANY, SHA.appendMany, keys.length, args).then(Number));
    }
    return (await Promise.all(batches)).reduce((a, b) => a + b, 0);
  }

  /** Runs a script by its SHA-1 (EVALSHA), loading it with EVAL the first time Redis lacks it. */
  async #script(script: string, sha: string, numKeys: number, args: string[]): Promise<unknown> {
    try {
      return await this.#cmd.sendCommand(["EVALSHA", sha, String(numKeys), ...args]);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith("NOSCRIPT")) throw err;
      return this.#cmd.sendCommand(["EVAL", script, String(numKeys), ...args]);
    }
  }

  async framesAfter(sessionId: string, afterSeq: number): Promise<Array<[number, string]>> {
    const entries = await this.#cmd.xRange(this.#stream(sessionId), `${afterSeq + 1}-0`, "+");
    return entries.map((e) => [Number(e.id.split("-")[0]), String(e.message.b)]);
  }

  acknowledged(sessionId: string, seq: number): void {
    this.#cmd.sendCommand(["XTRIM", this.#stream(sessionId), "MINID", `${seq + 1}-0`]).catch(this.#report);
  }

  received(sessionId: string, seq: number): void {
    this.#cmd.hSet(this.#hash(sessionId), "in", String(seq)).catch(this.#report);
  }

  touch(sessionIds: string[], keepAliveMs: number): void {
    const multi = this.#cmd.multi();
    for (const id of sessionIds) multi.pExpire(this.#hash(id), keepAliveMs).pExpire(this.#stream(id), keepAliveMs);
    multi.exec().catch(this.#report);
  }

  expireAfter(sessionId: string, keepAliveMs: number): void {
    this.touch([sessionId], keepAliveMs);
  }

  async find(filter: SessionFilter): Promise<string[]> {
    const matches = filterPredicate(filter);
    const found: string[] = [];
    const start = `${this.#prefix}s:`.length;
    // The prefix is literal: escape SCAN's glob characters in it.
    const pattern = `${this.#prefix.replace(/[*?[\]\\]/g, "\\$&")}s:*`;
    for await (const keys of this.#cmd.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      const props = await Promise.all(keys.map((k) => this.#cmd.hGet(k, "props")));
      keys.forEach((k, i) => {
        const p = props[i];
        if (p && matches(JSON.parse(p) as Record<string, string>)) found.push(k.slice(start));
      });
    }
    return found;
  }

  async closeRemote(sessionId: string, reasonId: number): Promise<boolean> {
    if ((await this.#cmd.exists(this.#hash(sessionId))) === 0) return false;
    const receivers = await this.#cmd.publish(this.#channel(sessionId), `x ${reasonId}`);
    if (receivers === 0) {
      // Nobody holds it (its node is gone): end it here so it cannot be resumed, and
      // leave the reason for its client for as long as the session would have lived.
      const [tokenHash, ttl] = await Promise.all([this.#cmd.hGet(this.#hash(sessionId), "th"), this.#cmd.pTTL(this.#hash(sessionId))]);
      await this.remove(sessionId, tokenHash ? { reasonId, tokenHash, ttlMs: ttl > 0 ? ttl : 60_000 } : undefined);
    }
    return true;
  }

  async remove(sessionId: string, tombstone?: { reasonId: number; tokenHash: string; ttlMs: number }): Promise<void> {
    // Issued first, synchronously: a node shutting down right now still completes it.
    const multi = this.#cmd.multi().del([this.#hash(sessionId), this.#stream(sessionId)]);
    if (tombstone) multi.set(this.#grave(sessionId), `${tombstone.reasonId} ${tombstone.tokenHash}`, { PX: tombstone.ttlMs });
    const deleted = multi.exec();
    await Promise.all([deleted, this.#unsubscribe(sessionId)]);
  }

  async tombstone(sessionId: string): Promise<{ reason: CloseReason; tokenHash: string } | undefined> {
    const value = await this.#cmd.get(this.#grave(sessionId));
    if (!value) return undefined;
    const [id, tokenHash] = value.split(" ");
    const reason = Object.values(CloseReason).find((r) => r.id === Number(id));
    return reason && tokenHash ? { reason, tokenHash } : undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.clear();
    await Promise.allSettled([this.#sub.close(), this.#cmd.close()]);
  }
}

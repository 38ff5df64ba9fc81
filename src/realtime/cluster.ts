/**
 * What a RealtimeServer needs from a cluster backplane, and the loader for the Redis one.
 * The Redis client is imported dynamically here, so `sessionkit/realtime` alone loads no
 * Redis code at all.
 */
import type { CloseReason } from "./close-reason.js";
import type { SessionFilter, SessionProperties } from "./properties.js";
import type { ServerSession } from "./server-session.js";

/** The shared record of a session, as every node sees it. */
export interface SharedSessionRecord {
  principal: string;
  properties: SessionProperties;
  tokenHash: string;
  /** Last sequence number the session's owner received from the client. */
  inSeq: number;
  /** Last sequence number given to a frame for the client. */
  outSeq: number;
  /** Frames for the client after the client's ack, oldest first, or null if some are gone. */
  frames: Array<[seq: number, body: string]> | null;
}

export interface ClusterNodeHooks {
  /** A numbered frame for a session this node holds. */
  deliver(sessionId: string, seq: number, body: string): void;
  /** Another node took the session over: forget it without closing it. */
  release(sessionId: string): void;
  /** Close a session this node holds (asked for by another node). */
  close(sessionId: string, reasonId: number): void;
  /** A background Redis operation failed. */
  error(error: Error): void;
}

export interface ClusterBackplane {
  readonly nodeId: string;
  /** Starts routing; frames beyond `replayBufferSize` unacknowledged ones are dropped (a resume that needs them fails). */
  start(hooks: ClusterNodeHooks, settings: { replayBufferSize: number }): Promise<void>;
  /** Records a new session held by this node. */
  register(session: ServerSession, keepAliveMs: number): Promise<void>;
  /** Reads a session for resuming here; frames are those after `clientAck`. Null if unknown. */
  load(sessionId: string, clientAck: number): Promise<SharedSessionRecord | null>;
  /** Makes this node the session's holder (subscribes first, then tells the old holder). */
  claim(sessionId: string): Promise<void>;
  /** Numbers a frame for a session and routes it to its holder. False if no such session. */
  append(sessionId: string, body: string): Promise<boolean>;
  /** `append` to many sessions (a fan-out); resolves how many exist. Optional: `append` per session otherwise. */
  appendMany?(sessionIds: readonly string[], body: string): Promise<number>;
  /** Frames numbered after `afterSeq` (to fill a gap after a missed publish). */
  framesAfter(sessionId: string, afterSeq: number): Promise<Array<[number, string]>>;
  /** The client acknowledged up to `seq`. */
  acknowledged(sessionId: string, seq: number): void;
  /** This node received frame `seq` from the client. */
  received(sessionId: string, seq: number): void;
  /** Keeps the shared state of connected sessions from expiring. */
  touch(sessionIds: string[], keepAliveMs: number): void;
  /** The session is disconnected: its state expires after the keep-alive window. */
  expireAfter(sessionId: string, keepAliveMs: number): void;
  /** Ids and properties of every session in the cluster that matches. */
  find(filter: SessionFilter): Promise<string[]>;
  /** Asks whichever node holds the session to close it. False if no such session. */
  closeRemote(sessionId: string, reasonId: number): Promise<boolean>;
  /**
   * The session is over: delete its shared state. With `tombstone`, remember for `ttlMs`
   * why it closed, so a client that was away learns the reason on any node.
   */
  remove(sessionId: string, tombstone?: { reasonId: number; tokenHash: string; ttlMs: number }): Promise<void>;
  /** Why a recently removed session closed (when it was remembered). */
  tombstone(sessionId: string): Promise<{ reason: CloseReason; tokenHash: string } | undefined>;
  /** Stops routing; the shared state stays for other nodes (sessions can resume there). */
  close(): Promise<void>;
}

export interface RedisClusterOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  url: string;
  /** Prefix for every key and channel, so several clusters can share one Redis. @default "sessionkit:rt:" */
  prefix?: string;
  /** This node's name (unique in the cluster). @default random */
  nodeId?: string;
}

/** Creates the Redis backplane. Needs the optional `redis` package (node-redis v5). */
export async function createRedisCluster(options: RedisClusterOptions): Promise<ClusterBackplane> {
  const { RedisBackplane } = await import("./redis-cluster.js");
  return RedisBackplane.connect(options);
}

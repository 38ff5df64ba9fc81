/**
 * Connects a RealtimeServer to its cluster backplane and answers the backplane's calls:
 * frames to deliver, sessions taken over by another node, closes asked for elsewhere.
 */
import { CloseReason } from "./close-reason.js";
import { createRedisCluster, type ClusterBackplane, type RedisClusterOptions } from "./cluster.js";
import { RealtimeSessionClosedError } from "./errors.js";
import type { ServerSession } from "./server-session.js";

export interface LocalSessions {
  sessions: Map<string, ServerSession>;
  /** Sessions being rebuilt from Redis: their deliveries wait in the queue. */
  loading: Map<string, Array<[number, string]>>;
  finish(session: ServerSession, reason: CloseReason): void;
  reportError(error: Error): void;
}

export async function startBackplane(
  option: RedisClusterOptions | ClusterBackplane,
  local: LocalSessions,
  replayBufferSize: number,
): Promise<ClusterBackplane> {
  const cluster = "start" in option ? option : await createRedisCluster(option);
  await cluster.start(
    {
      deliver: (id, seq, body) => {
        const queue = local.loading.get(id);
        if (queue) queue.push([seq, body]);
        else local.sessions.get(id)?.channel.pushAssigned(seq, body);
      },
      release: (id) => {
        const s = local.sessions.get(id);
        if (!s) return;
        // Another node resumed it: drop our copy quietly; the session lives on there.
        s.state = "CLOSED";
        clearTimeout(s.keepAliveTimer);
        s.channel.close(new RealtimeSessionClosedError(CloseReason.TRANSPORT_ERROR, "The session moved to another node"));
        s.socket?.terminate();
        local.sessions.delete(id);
      },
      close: (id, reasonId) => {
        const s = local.sessions.get(id);
        const reason = Object.values(CloseReason).find((r) => r.id === reasonId) ?? CloseReason.CLOSED_BY_CONTROLLER;
        if (s) local.finish(s, reason);
      },
      error: local.reportError,
    },
    { replayBufferSize },
  );
  return cluster;
}

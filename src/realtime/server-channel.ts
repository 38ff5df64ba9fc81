/**
 * Builds a server-side session and wires its channel: messages and requests go to the
 * server's path handlers; in a cluster, outgoing frames are numbered in Redis and each
 * received frame is recorded there.
 */
import { Channel } from "./channel.js";
import { CloseReason } from "./close-reason.js";
import type { ClusterBackplane } from "./cluster.js";
import { RemoteHandlerError } from "./errors.js";
import type { ServerHandler } from "./server-options.js";
import { ServerSession, type ServerSessionOwner } from "./server-session.js";

export interface SessionInit {
  id: string;
  principal: string;
  properties: Record<string, string>;
  tokenHash: string;
}

export interface ServerSessionDeps {
  owner: ServerSessionOwner;
  replayBufferSize: number;
  handlers: ReadonlyMap<string, ServerHandler>;
  cluster: ClusterBackplane | undefined;
  finish(session: ServerSession, reason: CloseReason): void;
  reportError(error: unknown, session: ServerSession): void;
}

export function newServerSession(init: SessionInit, deps: ServerSessionDeps): ServerSession {
  const { cluster, handlers } = deps;
  let session: ServerSession;
  const channel = new Channel({
    replayBufferSize: deps.replayBufferSize,
    onMessage: (path, value) => {
      const h = handlers.get(path);
      if (!h) return;
      try {
        const r = h(value, session);
        if (r instanceof Promise) r.catch((err: unknown) => deps.reportError(err, session));
      } catch (err) {
        deps.reportError(err, session);
      }
    },
    onRequest: (path, value) => {
      const h = handlers.get(path);
      if (!h) throw new RemoteHandlerError("NO_HANDLER", `No handler for "${path}"`);
      return h(value, session);
    },
    onLost: () => deps.finish(session, CloseReason.LOST_MESSAGES),
    assignSeq: cluster
      ? (body) => {
          cluster.append(session.id, body).then(
            (ok) => {
              if (!ok) deps.finish(session, CloseReason.LOST_MESSAGES);
            },
            (err: unknown) => {
              // The frame could not be stored: the stream would have a gap, so end it.
              deps.reportError(err, session);
              deps.finish(session, CloseReason.INTERNAL_ERROR);
            },
          );
        }
      : undefined,
    onInbound: cluster ? (seq) => cluster.received(session.id, seq) : undefined,
  });
  session = new ServerSession({ ...init, channel, owner: deps.owner });
  return session;
}

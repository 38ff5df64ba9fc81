/**
 * Resuming a session on the server: find it (here, or in the cluster's shared state),
 * check the resume token in constant time, and make sure every frame the client has not
 * acknowledged can still be replayed. Anything less ends the session with LOST_MESSAGES
 * rather than letting it continue with a gap.
 */
import { CloseReason } from "./close-reason.js";
import type { ClusterBackplane } from "./cluster.js";
import type { ResumeFrame } from "./protocol.js";
import { PROTOCOL_VERSION } from "./protocol.js";
import type { ServerSession } from "./server-session.js";
import { isSessionId } from "./session-id.js";
import { tokenMatches } from "./tokens.js";

export interface ResumeContext {
  sessions: Map<string, ServerSession>;
  loading: Map<string, Array<[number, string]>>;
  tombstones: Map<string, { reason: CloseReason; tokenHash: string }>;
  cluster: ClusterBackplane | undefined;
  createSession(init: { id: string; principal: string; properties: Record<string, string>; tokenHash: string }): ServerSession;
  finish(session: ServerSession, reason: CloseReason): void;
}

export type ResumeResult = { ok: true; session: ServerSession } | { ok: false; reason: CloseReason };

export async function resumeSession(ctx: ResumeContext, frame: ResumeFrame): Promise<ResumeResult> {
  if (frame.v !== PROTOCOL_VERSION) return { ok: false, reason: CloseReason.HANDSHAKE_REJECTED };
  if (!isSessionId(frame.sessionId)) return { ok: false, reason: CloseReason.HANDSHAKE_ERROR };
  const local = ctx.sessions.get(frame.sessionId);
  if (local) {
    if (!tokenMatches(frame.token, local.tokenHash)) return { ok: false, reason: CloseReason.ACCESS_DENIED };
    if (!local.channel.buffer.canReplayFrom(frame.ack)) {
      ctx.finish(local, CloseReason.LOST_MESSAGES);
      return { ok: false, reason: CloseReason.LOST_MESSAGES };
    }
    return { ok: true, session: local };
  }
  const grave = ctx.tombstones.get(frame.sessionId) ?? (await ctx.cluster?.tombstone(frame.sessionId));
  if (grave && tokenMatches(frame.token, grave.tokenHash)) return { ok: false, reason: grave.reason };
  if (!ctx.cluster || ctx.loading.has(frame.sessionId)) return { ok: false, reason: CloseReason.LOST_MESSAGES };
  return resumeFromCluster(ctx, ctx.cluster, frame);
}

async function resumeFromCluster(ctx: ResumeContext, cluster: ClusterBackplane, frame: ResumeFrame): Promise<ResumeResult> {
  const id = frame.sessionId;
  // Deliveries published from now on are queued; subscribing before reading the stored
  // frames means none can fall between the two.
  const queue: Array<[number, string]> = [];
  ctx.loading.set(id, queue);
  try {
    const peek = await cluster.load(id, frame.ack);
    if (!peek) return { ok: false, reason: CloseReason.LOST_MESSAGES };
    if (!tokenMatches(frame.token, peek.tokenHash)) return { ok: false, reason: CloseReason.ACCESS_DENIED };
    await cluster.claim(id);
    const record = await cluster.load(id, frame.ack);
    if (!record) return { ok: false, reason: CloseReason.LOST_MESSAGES };
    const session = ctx.createSession({ id, principal: record.principal, properties: record.properties, tokenHash: record.tokenHash });
    const lost = record.frames === null || frame.ack > record.outSeq;
    if (lost) {
      ctx.finish(session, CloseReason.LOST_MESSAGES);
      return { ok: false, reason: CloseReason.LOST_MESSAGES };
    }
    const channel = session.channel;
    channel.inSeq = record.inSeq;
    channel.outSeq = frame.ack;
    channel.buffer.reset(frame.ack);
    for (const [seq, body] of record.frames!) channel.pushAssigned(seq, body);
    for (const [seq, body] of queue) channel.pushAssigned(seq, body);
    if (channel.outSeq < record.outSeq) {
      // Numbered but not yet readable (a publish still in flight): fetch what is missing.
      for (const [seq, body] of await cluster.framesAfter(id, channel.outSeq)) channel.pushAssigned(seq, body);
      for (const [seq, body] of queue) channel.pushAssigned(seq, body);
    }
    if (session.state === "CLOSED") return { ok: false, reason: CloseReason.LOST_MESSAGES };
    ctx.sessions.set(id, session);
    return { ok: true, session };
  } finally {
    ctx.loading.delete(id);
  }
}

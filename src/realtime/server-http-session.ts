/**
 * Realtime sessions bound to the HTTP session of the same user (`sessionkit/server`): the
 * upgrade request carries the session cookie, the server session (by a digest of its id)
 * and its owner become fixed properties of the realtime session, and when the server session ends (logout,
 * regenerate, revocation of the owner, on any node) the realtime sessions bound to it
 * close with AUTHENTICATION_REVOKED.
 *
 * The source is described structurally so that `sessionkit/realtime` does not import the
 * server code: `sessionMiddleware(...)` fits it as it is, and so does any object with the
 * two methods.
 */
import { createHash } from "node:crypto";
import { CloseReason } from "./close-reason.js";
import type { ServerSession } from "./server-session.js";

export interface HttpSessionInfo {
  id: string;
  owner: string | undefined;
}

export type HttpSessionEndReason = "destroy" | "regenerate" | "revoke-owner";

export interface HttpSessionEnded {
  id: string;
  owner: string | undefined;
  reason: HttpSessionEndReason;
}

/** What the RealtimeServer needs from `sessionkit/server`'s `SessionMiddleware`. */
export interface HttpSessionSource {
  /** Verifies the signed cookie and loads the live session; undefined when absent, invalid or expired. */
  readSession(cookieHeader: string | undefined): Promise<HttpSessionInfo | undefined>;
  /** Calls `listener` for every server session that ends (on every node when the store can tell). Returns a remover. */
  onSessionEnded(listener: (event: HttpSessionEnded) => void): () => void;
}

export function isHttpSessionSource(value: unknown): value is HttpSessionSource {
  const v = value as Partial<HttpSessionSource> | null;
  return typeof v === "object" && v !== null && typeof v.readSession === "function" && typeof v.onSessionEnded === "function";
}

export type HttpBinding = { ok: true; id: string; owner: string } | { ok: false; reason: CloseReason; error?: Error };

/** Reads the HTTP session named by the upgrade's Cookie header. No session: ACCESS_DENIED. */
export async function readBinding(source: HttpSessionSource, cookieHeader: string | undefined): Promise<HttpBinding> {
  let info: HttpSessionInfo | undefined;
  try {
    info = await source.readSession(cookieHeader);
  } catch (err) {
    // The store is down or failed: not the client's fault, but no session either.
    return { ok: false, reason: CloseReason.INTERNAL_ERROR, error: err instanceof Error ? err : new Error(String(err)) };
  }
  if (info === undefined) return { ok: false, reason: CloseReason.ACCESS_DENIED };
  if (typeof info !== "object" || info === null || typeof info.id !== "string" || info.id === "") {
    return {
      ok: false,
      reason: CloseReason.INTERNAL_ERROR,
      error: new TypeError("httpSessions.readSession must resolve to { id, owner } or undefined"),
    };
  }
  const owner = typeof info.owner === "string" ? info.owner : "";
  return { ok: true, id: info.id, owner };
}

/**
 * The `$HttpSession` property of realtime sessions bound to the server session `id`: a
 * SHA-256 digest (base64url) of the id, never the id itself, which is a credential (the
 * key of the session in the store). Use it to reach a user's sockets from an HTTP handler:
 * `server.sendToFilter({ $HttpSession: httpSessionRef(id) }, path, value)`.
 */
export function httpSessionRef(id: string): string {
  return createHash("sha256").update(id).digest("base64url");
}

/** The fixed properties a bound session carries. `$Owner` is "" when the server session names none. */
export function bindingProperties(binding: { id: string; owner: string }): Record<string, string> {
  return { $HttpSession: httpSessionRef(binding.id), $Owner: binding.owner };
}

/**
 * On a resume, the socket's cookie must still name the live server session the realtime
 * session was bound to: a session whose server session ended while no node held it (its
 * node was down) must not come back. Resolves to a reason to refuse, or undefined.
 */
export async function checkResumeBinding(
  source: HttpSessionSource,
  session: ServerSession,
  cookieHeader: string | undefined,
): Promise<{ reason: CloseReason; error?: Error } | undefined> {
  const bound = session.properties.$HttpSession;
  if (bound === undefined) return undefined;
  const now = await readBinding(source, cookieHeader);
  if (!now.ok && now.reason === CloseReason.INTERNAL_ERROR) return { reason: now.reason, error: now.error };
  if (!now.ok || httpSessionRef(now.id) !== bound) return { reason: CloseReason.AUTHENTICATION_REVOKED };
  return undefined;
}

/**
 * Which session belongs to which request. A WeakMap keyed by the request object, so the
 * middleware never assigns properties onto objects the application owns, and a finished
 * request's session is collected with it.
 */
import type { RequestSession } from "./engine.js";
import { NoSessionError } from "./errors.js";
import type { Session, SessionDataMap } from "./session.js";

const sessions = new WeakMap<object, RequestSession>();

export function attachSession(request: object, rs: RequestSession): void {
  sessions.set(request, rs);
}

export function findSession(request: object): RequestSession | undefined {
  const direct = sessions.get(request);
  if (direct !== undefined) return direct;
  // Fastify's request wraps the Node request (`.raw`); Hono's context wraps the Web
  // Request (`.req.raw`). Accepting the wrapper spares handlers from unwrapping.
  const r = request as { raw?: unknown; req?: { raw?: unknown } };
  if (typeof r.raw === "object" && r.raw !== null) {
    const viaRaw = sessions.get(r.raw);
    if (viaRaw !== undefined) return viaRaw;
  }
  if (typeof r.req === "object" && r.req !== null && typeof r.req.raw === "object" && r.req.raw !== null) {
    return sessions.get(r.req.raw);
  }
  return undefined;
}

/**
 * The session of a request that went through the middleware (a Node `IncomingMessage`,
 * Express/Fastify request, Web `Request` or Hono context). Throws `NoSessionError` when
 * the middleware did not run for it.
 */
export function sessionData<D extends object = SessionDataMap>(request: object): Session<D> {
  const rs = findSession(request);
  if (rs === undefined) throw new NoSessionError();
  rs.state.read = true;
  return rs.session as unknown as Session<D>;
}

/**
 * Which session belongs to which request: a property under a private symbol on the
 * request object, so a finished request's session is collected with it.
 *
 * A symbol, not a WeakMap, for speed: a WeakMap entry per request made the garbage
 * collector's ephemeron processing the largest single cost of the middleware (several
 * microseconds a request, more than the HMAC). The symbol is module-private, so no
 * application code can read or collide with it, and it is invisible to `for…in`,
 * `Object.keys`, `JSON.stringify` and spreading of enumerable string keys (Node itself
 * keeps its own request state under symbols the same way). Only a request object that
 * cannot take properties (frozen, sealed) falls back to the WeakMap.
 */
import type { RequestSession } from "./engine.js";
import { NoSessionError } from "./errors.js";
import type { Session, SessionDataMap } from "./session.js";

const sessions = new WeakMap<object, RequestSession>();
const kSession: unique symbol = Symbol("sessionkit.session");

type Carrier = { [kSession]?: RequestSession };

export function attachSession(request: object, rs: RequestSession): void {
  if (Object.isExtensible(request)) (request as Carrier)[kSession] = rs;
  else sessions.set(request, rs);
}

function lookup(request: object): RequestSession | undefined {
  return (request as Carrier)[kSession] ?? sessions.get(request);
}

export function findSession(request: object): RequestSession | undefined {
  const direct = lookup(request);
  if (direct !== undefined) return direct;
  // Fastify's request wraps the Node request (`.raw`); Hono's context wraps the Web
  // Request (`.req.raw`). Accepting the wrapper spares handlers from unwrapping.
  const r = request as { raw?: unknown; req?: { raw?: unknown } };
  if (typeof r.raw === "object" && r.raw !== null) {
    const viaRaw = lookup(r.raw);
    if (viaRaw !== undefined) return viaRaw;
  }
  if (typeof r.req === "object" && r.req !== null && typeof r.req.raw === "object" && r.req.raw !== null) {
    return lookup(r.req.raw);
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

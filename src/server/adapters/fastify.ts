/**
 * Fastify plugin: `app.register(mw.fastify)`. Fastify has the hooks node:http lacks
 * (`onRequest`, `onSend`), so nothing is wrapped: the session loads in `onRequest` and is
 * committed in `onSend`, before the headers go out. Errors are thrown into Fastify's
 * error handling; `STORE_UNAVAILABLE` errors carry `statusCode` 503.
 */
import type { IncomingMessage } from "node:http";
import type { RequestSession, SessionEngine } from "../engine.js";
import { attachSession, findSession } from "../registry.js";
import { appendVary, nodeRequestIsSecure } from "./node-response.js";

/** The parts of Fastify used here, typed structurally so Fastify is not a dependency. */
interface FastifyRequestLike {
  raw: IncomingMessage;
}
interface FastifyReplyLike {
  getHeader(name: string): unknown;
  hasHeader(name: string): boolean;
  header(name: string, value: unknown): unknown;
}
interface FastifyInstanceLike {
  addHook(name: "onRequest", hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<void>): unknown;
  addHook(name: "onSend", hook: (request: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown) => Promise<unknown>): unknown;
}

export type FastifySessionPlugin = ((instance: any, options: unknown, done: (error?: Error) => void) => void) & {
  [key: symbol]: unknown;
};

export function fastifyAdapter(engine: SessionEngine): FastifySessionPlugin {
  const failed = new WeakSet<RequestSession>();
  const plugin = function sessionkitSession(instance: FastifyInstanceLike, _options: unknown, done: (error?: Error) => void) {
    instance.addHook("onRequest", async (request) => {
      const rs = await engine.load({
        cookieHeader: request.raw.headers.cookie,
        secure: nodeRequestIsSecure(request.raw, engine.options.trustProxy),
      });
      attachSession(request, rs);
      attachSession(request.raw, rs);
    });
    instance.addHook("onSend", async (request, reply, payload) => {
      const rs = findSession(request);
      // onSend runs again for the error reply after a failed commit: add nothing then.
      if (rs === undefined || failed.has(rs)) return payload;
      try {
        await engine.commit(rs);
      } catch (error) {
        failed.add(rs);
        throw error;
      }
      const h = engine.responseHeaders(rs);
      if (h.setCookie !== undefined) reply.header("set-cookie", h.setCookie); // Fastify appends set-cookie
      if (h.vary) {
        const prev = reply.getHeader("vary");
        reply.header("vary", appendVary(prev === undefined ? undefined : String(prev), "Cookie"));
      }
      if (h.noStore && !reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
      return payload;
    });
    done();
  } as FastifySessionPlugin;
  // What fastify-plugin does: make the hooks apply to the whole app, not one encapsulated child.
  plugin[Symbol.for("skip-override")] = true;
  plugin[Symbol.for("fastify.display-name")] = "sessionkit-session";
  return plugin;
}

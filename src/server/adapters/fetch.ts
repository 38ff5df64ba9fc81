/**
 * Web-standard adapters: `mw.fetch(handler)` wraps a `(Request) => Response` handler
 * (Bun, Deno, Cloudflare-style, `@hono/node-server`), and `mw.hono()` is a Hono
 * middleware. The core already speaks these semantics; this file only moves headers.
 */
import type { RequestSession, ResponseHeaders, SessionEngine } from "../engine.js";
import { attachSession } from "../registry.js";
import { appendVary } from "./node-response.js";

export type FetchHandler<A extends unknown[] = unknown[]> = (request: Request, ...rest: A) => Response | Promise<Response>;

export function webRequestIsSecure(request: Request, trustProxy: boolean): boolean {
  if (trustProxy) {
    const first = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
    if (first !== undefined && first !== "") return first === "https";
  }
  return request.url.startsWith("https:");
}

/** Adds the session headers, copying the response first if its headers are immutable. */
export function decorateResponse(response: Response, h: ResponseHeaders): Response {
  if (h.setCookie === undefined && !h.vary) return response;
  try {
    apply(response.headers, h);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    apply(copy.headers, h);
    return copy;
  }
}

function apply(headers: Headers, h: ResponseHeaders): void {
  if (h.setCookie !== undefined) headers.append("set-cookie", h.setCookie);
  if (h.vary) headers.set("vary", appendVary(headers.get("vary") ?? undefined, "Cookie"));
  if (h.noStore && !headers.has("cache-control")) headers.set("cache-control", "no-store");
}

async function load(engine: SessionEngine, request: Request): Promise<RequestSession> {
  return engine.load({
    cookieHeader: request.headers.get("cookie") ?? undefined,
    secure: webRequestIsSecure(request, engine.options.trustProxy),
  });
}

export function fetchAdapter<A extends unknown[]>(engine: SessionEngine, handler: FetchHandler<A>) {
  return async function sessionFetch(request: Request, ...rest: A): Promise<Response> {
    const rs = await load(engine, request);
    attachSession(request, rs);
    const response = await handler(request, ...rest);
    await engine.commit(rs);
    return decorateResponse(response, engine.responseHeaders(rs));
  };
}

/** The parts of Hono's Context used here, typed structurally so Hono is not a dependency. */
export interface HonoContextLike {
  req: { raw: Request };
  res: Response;
}

export function honoAdapter(engine: SessionEngine) {
  return async function sessionkitSession(c: HonoContextLike, next: () => Promise<void>): Promise<void> {
    const rs = await load(engine, c.req.raw);
    attachSession(c.req.raw, rs);
    attachSession(c, rs);
    await next();
    await engine.commit(rs);
    const decorated = decorateResponse(c.res, engine.responseHeaders(rs));
    if (decorated !== c.res) c.res = decorated;
  };
}

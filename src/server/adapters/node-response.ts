/**
 * Saving a session on Node's `ServerResponse` (shared by the node:http and Express adapters).
 *
 * Deliberate departure from the style guide ("avoid wrapping res.end"): node:http offers
 * no hook that runs before the headers go out or before the last byte is sent, and both
 * are needed: `Set-Cookie` must be in the headers, and the store write must finish before
 * the client sees the end of the response, or its next request could read stale data.
 * So this wraps `writeHead` and `end` on the one response instance (never the prototype),
 * and nothing else.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { RequestSession, ResponseHeaders, SessionEngine } from "../engine.js";

export function nodeRequestIsSecure(req: IncomingMessage, trustProxy: boolean): boolean {
  if (trustProxy) {
    const proto = req.headers["x-forwarded-proto"];
    const first = (Array.isArray(proto) ? proto[0] : proto)?.split(",")[0]?.trim().toLowerCase();
    if (first !== undefined && first !== "") return first === "https";
  }
  return (req.socket as TLSSocket).encrypted === true;
}

export function appendVary(current: string | undefined, field: string): string {
  if (current === undefined || current.trim() === "") return field;
  const parts = current.split(",").map((p) => p.trim().toLowerCase());
  if (parts.includes("*") || parts.includes(field.toLowerCase())) return current;
  return `${current}, ${field}`;
}

/**
 * Header fields passed to `writeHead(status, [reason], fields)` are moved into the
 * progressive headers (`setHeader`) first, so the session headers can merge with them
 * (`Vary`, `Set-Cookie`, `Cache-Control`). Node does the same whenever progressive headers
 * exist: an object's fields and a raw array's pairs are each set with `setHeader`. With
 * no progressive headers Node sends a raw array as it is, repeated names included, so
 * those pairs are appended instead.
 */
function absorbFields(res: ServerResponse, fields: unknown): void {
  if (typeof fields !== "object" || fields === null) return;
  if (Array.isArray(fields)) {
    const append = res.getHeaderNames().length === 0;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i] as string;
      if (!name) continue;
      if (append) res.appendHeader(name, fields[i + 1] as string | string[]);
      else res.setHeader(name, fields[i + 1] as string | string[]);
    }
    return;
  }
  for (const [k, v] of Object.entries(fields as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
}

/** Adds the session headers to the progressive headers, merging with what is there. */
function applyHeaders(res: ServerResponse, h: ResponseHeaders): void {
  if (h.setCookie !== undefined) {
    const prev = res.getHeader("set-cookie");
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    res.setHeader("set-cookie", [...list, h.setCookie]);
  }
  if (h.vary) {
    const prev = res.getHeader("vary");
    res.setHeader("vary", appendVary(prev === undefined ? undefined : String(prev), "Cookie"));
  }
  if (h.noStore && !res.hasHeader("cache-control")) res.setHeader("cache-control", "no-store");
}

/**
 * The session headers as a raw header array, for a response with no other headers.
 * Handing Node a raw array skips its per-response header dictionary (an object in
 * dictionary mode, walked with `for…in` when the head is written).
 */
function headerArray(h: ResponseHeaders): readonly string[] | undefined {
  if (h.setCookie === undefined) return h.vary ? VARY_COOKIE : undefined;
  const out = ["Set-Cookie", h.setCookie];
  if (h.vary) out.push("Vary", "Cookie");
  if (h.noStore) out.push("Cache-Control", "no-store");
  return out;
}
const VARY_COOKIE: readonly string[] = Object.freeze(["Vary", "Cookie"]);

/** Answers a request whose session could not be loaded or saved. */
export function respondStoreError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const status = (error as { statusCode?: unknown }).statusCode;
  res.statusCode = typeof status === "number" ? status : 500;
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.end(res.statusCode === 503 ? "Service Unavailable" : "Internal Server Error");
}

type WriteHead = (status: unknown, reason?: unknown, headers?: unknown) => ServerResponse;
type End = (chunk?: unknown, encoding?: unknown, callback?: unknown) => ServerResponse;
type CommitErrorHandler = (error: unknown, req: IncomingMessage, res: ServerResponse) => void;

/** What the hooked `writeHead`/`end` of one response need; kept on it under a private symbol. */
interface Hook {
  readonly engine: SessionEngine;
  readonly rs: RequestSession;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly onCommitError: CommitErrorHandler;
  /** The methods replaced (the prototype's, or another middleware's wrappers). */
  readonly writeHead: WriteHead;
  readonly end: End;
  /** An asynchronous commit is in flight, or failed: pass calls straight through. */
  finishing: boolean;
}

const kHook: unique symbol = Symbol("sessionkit.responseHook");
type Hooked = ServerResponse & { [kHook]: Hook };

/**
 * Makes `res` commit the session before its last byte and add the session headers to
 * whatever headers it sends. Store failures while finishing go to `onCommitError`.
 *
 * The replacements are two module-level functions that find their state on the response,
 * rather than two closures made per request: one small object per response instead of a
 * context and two functions.
 */
export function hookResponse(
  engine: SessionEngine,
  rs: RequestSession,
  res: ServerResponse,
  onCommitError: CommitErrorHandler,
  req: IncomingMessage,
): void {
  const hook: Hook = { engine, rs, req, res, onCommitError, writeHead: res.writeHead as WriteHead, end: res.end as End, finishing: false };
  (res as Hooked)[kHook] = hook;
  res.writeHead = hookedWriteHead as ServerResponse["writeHead"];
  res.end = hookedEnd as ServerResponse["end"];
}

// Fixed parameters rather than `...args` and `apply`: no array per call. Node's own
// writeHead(status, reason, headers) and end(chunk, encoding, callback) treat a missing
// argument and an explicit `undefined` alike.
function hookedWriteHead(this: Hooked, status: unknown, reason?: unknown, headers?: unknown): ServerResponse {
  const hook = this[kHook];
  if (this.headersSent || hook.finishing) return hook.writeHead.call(this, status, reason, headers);
  // writeHead(status, [reason], [fields]): the reason phrase is the only string.
  const text = typeof reason === "string" ? reason : undefined;
  const fields = text === undefined ? reason : headers;
  const h = hook.engine.responseHeaders(hook.rs);
  if (fields == null && this.getHeaderNames().length === 0) {
    // The common `res.end(body)` with no headers set: nothing to merge with.
    const raw = headerArray(h);
    return text === undefined ? hook.writeHead.call(this, status, raw) : hook.writeHead.call(this, status, text, raw);
  }
  absorbFields(this, fields);
  applyHeaders(this, h);
  return text === undefined ? hook.writeHead.call(this, status) : hook.writeHead.call(this, status, text);
}

function hookedEnd(this: Hooked, chunk?: unknown, encoding?: unknown, callback?: unknown): ServerResponse {
  const hook = this[kHook];
  if (hook.finishing || hook.rs.committed) return hook.end.call(this, chunk, encoding, callback);
  let pending: Promise<void> | undefined;
  try {
    pending = hook.engine.commit(hook.rs);
  } catch (error) {
    hook.finishing = true;
    hook.onCommitError(error, hook.req, hook.res);
    return this;
  }
  // Nothing to write, or written synchronously (MemoryStore): finish in this tick.
  if (pending === undefined) return hook.end.call(this, chunk, encoding, callback);
  hook.finishing = true;
  pending.then(
    () => {
      hook.finishing = false;
      hook.end.call(hook.res, chunk, encoding, callback);
    },
    (error: unknown) => hook.onCommitError(error, hook.req, hook.res),
  );
  return this;
}

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

function headerFromArgs(args: unknown[], name: string): boolean {
  // writeHead(status, [reason], rawHeaderArray): those are not visible to getHeader.
  for (const a of args) {
    if (Array.isArray(a)) {
      for (let i = 0; i < a.length; i += 2) if (String(a[i]).toLowerCase() === name) return true;
    }
  }
  return false;
}

/**
 * `writeHead(status, [reason], {headers})` would override what `setHeader` holds, so its
 * header object is moved into `setHeader` first — exactly what Node itself does in that
 * case — and the session headers can then merge with it (`Vary`, `Set-Cookie`).
 */
function absorbHeaderObject(res: ServerResponse, args: unknown[]): unknown[] {
  const reason = typeof args[1] === "string" ? args[1] : undefined;
  const headers = reason === undefined ? args[1] : args[2];
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) return args;
  for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
  return reason === undefined ? [args[0]] : [args[0], reason];
}

function applyHeaders(res: ServerResponse, h: ResponseHeaders, writeHeadArgs: unknown[]): void {
  if (h.setCookie !== undefined) {
    const prev = res.getHeader("set-cookie");
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
    res.setHeader("set-cookie", [...list, h.setCookie]);
  }
  if (h.vary) {
    const prev = res.getHeader("vary");
    res.setHeader("vary", appendVary(prev === undefined ? undefined : String(prev), "Cookie"));
  }
  if (h.noStore && !res.hasHeader("cache-control") && !headerFromArgs(writeHeadArgs, "cache-control")) {
    res.setHeader("cache-control", "no-store");
  }
}

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

/**
 * Makes `res` commit the session before its last byte and add the session headers to
 * whatever headers it sends. Store failures while finishing go to `onCommitError`.
 */
export function hookResponse(
  engine: SessionEngine,
  rs: RequestSession,
  res: ServerResponse,
  onCommitError: (error: unknown, req: IncomingMessage, res: ServerResponse) => void,
  req: IncomingMessage,
): void {
  const writeHead = res.writeHead as (...a: unknown[]) => ServerResponse;
  const end = res.end as (...a: unknown[]) => ServerResponse;
  let finishing = false;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent && !finishing) {
      if (args.length > 1) args = absorbHeaderObject(this, args);
      applyHeaders(this, engine.responseHeaders(rs), args);
    }
    return writeHead.apply(this, args);
  } as ServerResponse["writeHead"];
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (finishing || rs.committed) return end.apply(this, args);
    let pending: Promise<void> | undefined;
    try {
      pending = engine.commit(rs);
    } catch (error) {
      finishing = true;
      onCommitError(error, req, res);
      return this;
    }
    // Nothing to write, or written synchronously (MemoryStore): finish in this tick.
    if (pending === undefined) return end.apply(this, args);
    finishing = true;
    pending.then(
      () => {
        finishing = false;
        end.apply(res, args);
      },
      (error: unknown) => {
        onCommitError(error, req, res);
      },
    );
    return this;
  } as ServerResponse["end"];
}

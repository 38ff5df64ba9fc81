/**
 * One loopback server per test file for the Cache tests: handlers per path, and a record of
 * how many requests reached each path and with which headers.
 */
import { before, after, beforeEach } from "node:test";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Message, Session } from "../../../src/index.js";
import type { Cache } from "../../../src/features/cache/index.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export const handlers: Record<string, Handler> = {};
export const hits: Record<string, number> = {};
export const seen: Record<string, http.IncomingHttpHeaders[]> = {};
export const srv = { base: "", dir: "" };

/** Registers the server's before/after hooks in the calling test file. */
export function useCacheServer(): void {
  let server: http.Server;
  before(async () => {
    srv.dir = mkdtempSync(join(tmpdir(), "sessionkit-cache-it-"));
    server = http.createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      hits[path] = (hits[path] ?? 0) + 1;
      (seen[path] ??= []).push(req.headers);
      const h = handlers[path];
      if (h) h(req, res);
      else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    srv.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(srv.dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const o of [handlers, hits, seen]) for (const k of Object.keys(o)) delete (o as Record<string, unknown>)[k];
  });
}

/** A controllable clock so freshness can be tested without waiting. */
export function clock() {
  let t = Date.now();
  return { now: () => t, advance: (s: number) => (t += s * 1000) };
}

export async function get(session: Session, path: string, init?: (m: Message) => void) {
  const msg = new Message("GET", `${srv.base}${path}`);
  init?.(msg);
  const body = Buffer.from(await session.sendAndRead(msg)).toString();
  return { msg, body };
}

export function makeSession(cache: Cache) {
  return new Session({ features: [cache] });
}

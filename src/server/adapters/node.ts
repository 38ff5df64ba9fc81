/**
 * node:http adapter: wraps a request listener, `http.createServer(mw.node(listener))`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestSession, SessionEngine } from "../engine.js";
import { StoreUnavailableError } from "../errors.js";
import { attachSession } from "../registry.js";
import { hookResponse, nodeRequestIsSecure, respondStoreError } from "./node-response.js";

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

export interface NodeAdapterOptions {
  /**
   * Answers a request whose session could not be loaded or saved (the error has code
   * `STORE_UNAVAILABLE` when the store is down). @default a plain 503 (or 500) response
   */
  onError?: (error: unknown, req: IncomingMessage, res: ServerResponse) => void;
}

export function nodeAdapter(engine: SessionEngine, listener: NodeListener, options: NodeAdapterOptions = {}) {
  const fail = (error: unknown, req: IncomingMessage, res: ServerResponse) => {
    if (options.onError !== undefined) {
      options.onError(error, req, res);
    } else {
      engine.options.onError(error as Error);
      respondStoreError(res, error);
    }
  };
  /** The listener threw or rejected. */
  const failed = (error: unknown, req: IncomingMessage, res: ServerResponse) => {
    // regenerate()/destroy() hit a store outage: same answer as a failed load.
    if (error instanceof StoreUnavailableError && !res.headersSent) {
      fail(error, req, res);
      return;
    }
    // The listener's own failure: report it and do not leave the client hanging.
    engine.options.onError(error as Error);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.end();
    } else if (!res.writableEnded) {
      res.destroy();
    }
  };
  const run = (rs: RequestSession, req: IncomingMessage, res: ServerResponse): Promise<void> | undefined => {
    attachSession(req, rs);
    hookResponse(engine, rs, res, fail, req);
    let result: unknown;
    try {
      result = listener(req, res);
    } catch (error) {
      failed(error, req, res);
      return undefined;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        () => undefined,
        (error: unknown) => failed(error, req, res),
      );
    }
    return undefined;
  };
  // With the default MemoryStore the session loads synchronously, and a synchronous
  // listener then runs with no Promise or microtask in between.
  return function sessionListener(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    let loaded: RequestSession | Promise<RequestSession>;
    try {
      loaded = engine.load({ cookieHeader: req.headers.cookie, secure: nodeRequestIsSecure(req, engine.options.trustProxy) });
    } catch (error) {
      fail(error, req, res);
      return undefined;
    }
    if (loaded instanceof Promise) {
      return loaded.then(
        (rs) => run(rs, req, res),
        (error: unknown) => fail(error, req, res),
      );
    }
    return run(loaded, req, res);
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

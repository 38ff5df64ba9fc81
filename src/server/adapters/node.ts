/**
 * node:http adapter: wraps a request listener, `http.createServer(mw.node(listener))`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SessionEngine } from "../engine.js";
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
  return async function sessionListener(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let rs;
    try {
      rs = await engine.load({ cookieHeader: req.headers.cookie, secure: nodeRequestIsSecure(req, engine.options.trustProxy) });
    } catch (error) {
      fail(error, req, res);
      return;
    }
    attachSession(req, rs);
    hookResponse(engine, rs, res, (error) => fail(error, req, res));
    try {
      await listener(req, res);
    } catch (error) {
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
    }
  };
}

/**
 * Express/Connect adapter: `app.use(mw.express())`. A store failure while loading goes to
 * `next(error)` (the error has `statusCode` 503, so Express's handlers answer 503); a
 * failure while saving goes to the middleware's `onError` and the response becomes a 503.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestSession, SessionEngine } from "../engine.js";
import { attachSession } from "../registry.js";
import { hookResponse, nodeRequestIsSecure, respondStoreError } from "./node-response.js";

/** The Connect middleware signature, typed structurally so Express is not a dependency. */
export type ConnectMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

export function expressAdapter(engine: SessionEngine): ConnectMiddleware {
  const onCommitError = (error: unknown, _req: IncomingMessage, res: ServerResponse) => {
    engine.options.onError(error as Error);
    respondStoreError(res, error);
  };
  return function sessionkitSession(req, res, next) {
    let loaded: RequestSession | Promise<RequestSession>;
    try {
      loaded = engine.load({ cookieHeader: req.headers.cookie, secure: nodeRequestIsSecure(req, engine.options.trustProxy) });
    } catch (error) {
      next(error);
      return;
    }
    if (loaded instanceof Promise) {
      loaded.then(
        (rs) => {
          attachSession(req, rs);
          hookResponse(engine, rs, res, onCommitError, req);
          next();
        },
        (error: unknown) => next(error),
      );
      return;
    }
    attachSession(req, loaded);
    hookResponse(engine, loaded, res, onCommitError, req);
    next();
  };
}

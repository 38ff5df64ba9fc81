/**
 * The per-request records the engine and the adapters share, and the helpers that build
 * and check them (kept apart from the engine's write policy).
 */
import { SessionKitError } from "../errors.js";
import type { StoredSession } from "../stores/contract.js";
import { StoreUnavailableError } from "./errors.js";
import { Session, type SessionState } from "./session.js";

/** What an adapter knows about the incoming request. */
export interface RequestInfo {
  cookieHeader: string | undefined;
  /** Came over HTTPS (adapters apply `trustProxy` before passing this). */
  secure: boolean;
}

/** What the response needs, computed once per request. */
export interface ResponseHeaders {
  setCookie: string | undefined;
  vary: boolean;
  /** Add `Cache-Control: no-store` unless the handler set Cache-Control itself. */
  noStore: boolean;
}

/** Per-request bookkeeping around the Session object. */
export interface RequestSession {
  session: Session;
  state: SessionState;
  secure: boolean;
  committed: boolean;
  /** Headers already went out; cookie decisions are final. */
  headers: ResponseHeaders | undefined;
}

export function requestSession(state: SessionState, secure: boolean): RequestSession {
  return { session: new Session(state), state, secure, committed: false, headers: undefined };
}

/** A store failure as thrown to the adapters: typed errors pass, the rest is STORE_UNAVAILABLE. */
export function storeError(error: unknown): unknown {
  if (error instanceof SessionKitError) return error;
  return new StoreUnavailableError("The session store failed", { cause: error });
}

/** Guards against a third-party store returning something malformed ("garbage in the store"). */
export function isStoredSession(value: unknown): value is StoredSession {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Partial<StoredSession>;
  return typeof v.data === "object" && v.data !== null && !Array.isArray(v.data) && Number.isFinite(v.createdAt) && Number.isFinite(v.expiresAt);
}

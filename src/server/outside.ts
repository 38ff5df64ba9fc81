/**
 * Sessions outside a request, for `SessionMiddleware.readSession` and `revokeOwner`: code
 * such as a realtime server that authenticates a WebSocket upgrade from the session
 * cookie, and an admin action that logs a user out everywhere.
 */
import { InvalidArgumentError } from "../errors.js";
import { readCookieValues } from "./cookie.js";
import { isStoredSession, type SessionEngine } from "./engine.js";
import { StoreContractError } from "./errors.js";

/**
 * The live session a `Cookie` header names (signature verified, store read, expiry
 * checked), or undefined. Read-only: nothing is written or renewed.
 */
export async function readSession(
  engine: SessionEngine,
  cookieHeader: string | undefined,
): Promise<{ id: string; owner: string | undefined } | undefined> {
  const now = Date.now();
  const { store, cookie } = engine.options;
  for (const value of readCookieValues(cookieHeader, cookie.name)) {
    const verified = engine.signer.check(value);
    if (verified === undefined) continue;
    const id = verified.id;
    const stored = await engine.call(() => store.get(id));
    if (stored === undefined || !isStoredSession(stored)) continue;
    if (engine.lifetimes.expired(stored.createdAt, stored.expiresAt, now, stored.maxAge)) continue;
    return { id, owner: typeof stored.owner === "string" ? stored.owner : undefined };
  }
  return undefined;
}

/** Destroys every session of `owner` (every node sees it through the store); resolves how many were live. */
export async function revokeOwner(engine: SessionEngine, owner: string): Promise<number> {
  if (typeof owner !== "string" || owner.length === 0) throw new InvalidArgumentError("revokeOwner(owner) needs a non-empty string");
  const store = engine.options.store;
  if (typeof store.destroyByOwner !== "function") {
    throw new StoreContractError("revokeOwner() needs a store with an owner index (destroyByOwner); this store has none");
  }
  const destroyByOwner = store.destroyByOwner.bind(store);
  const ids = await engine.call(() => destroyByOwner(owner));
  for (const id of ids) engine.notifyEnded(id, owner, "revoke-owner");
  return ids.length;
}

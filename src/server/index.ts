/**
 * `sessionkit/server`: server-side sessions. A signed cookie names the client, a store
 * keeps its data, `sessionData(request)` gives the handler a record that persists across
 * that client's requests. Pulls in neither better-sqlite3 nor redis: those stores live in
 * `sessionkit/stores/sqlite` and `sessionkit/stores/redis`.
 */
export { sessionMiddleware, SessionMiddleware } from "./middleware.js";
export { sessionData } from "./registry.js";
export { Session, type SessionDataMap } from "./session.js";
export type { SessionOptions, Secret } from "./options.js";
export type { CookieOptions, SameSite } from "./cookie.js";
export type { JsonValue, JsonPrimitive, SessionDataRecord } from "./json.js";
export type { SessionValue } from "./values.js";
export type { NodeListener, NodeAdapterOptions } from "./adapters/node.js";
export type { ConnectMiddleware } from "./adapters/express.js";
export type { FastifySessionPlugin } from "./adapters/fastify.js";
export type { FetchHandler, HonoContextLike } from "./adapters/fetch.js";
export { StoreUnavailableError, CookieTooLargeError, InvalidSessionValueError, NoSessionError, StoreContractError } from "./errors.js";
export { MemoryStore, type MemoryStoreOptions } from "../stores/memory.js";
export {
  assertSessionStore,
  type SessionStore,
  type StoredSession,
  type SessionPatch,
  type SessionEndedEvent,
  type SessionEndReason,
} from "../stores/contract.js";

/**
 * `sessionMiddleware(options)`: one core, thin adapters. Options are resolved once here;
 * each adapter method returns a handler for one framework.
 */
import type { SessionEndedEvent, SessionStore } from "../stores/contract.js";
import { expressAdapter, type ConnectMiddleware } from "./adapters/express.js";
import { fastifyAdapter, type FastifySessionPlugin } from "./adapters/fastify.js";
import { fetchAdapter, honoAdapter, type FetchHandler } from "./adapters/fetch.js";
import { nodeAdapter, type NodeAdapterOptions, type NodeListener } from "./adapters/node.js";
import { SessionEngine } from "./engine.js";
import { resolveOptions, type SessionOptions } from "./options.js";
import { readSession, revokeOwner } from "./outside.js";

export class SessionMiddleware {
  readonly #engine: SessionEngine;
  #fastify: FastifySessionPlugin | undefined;
  #closed = false;

  constructor(options: SessionOptions) {
    this.#engine = new SessionEngine(resolveOptions(options));
  }

  /** The store in use (the MemoryStore created by default, or the one passed in). */
  get store(): SessionStore {
    return this.#engine.options.store;
  }

  /** Wraps a node:http request listener: `http.createServer(mw.node(listener))`. */
  node(listener: NodeListener, options?: NodeAdapterOptions) {
    return nodeAdapter(this.#engine, listener, options);
  }

  /** Express/Connect middleware: `app.use(mw.express())`. */
  express(): ConnectMiddleware {
    return expressAdapter(this.#engine);
  }

  /** Fastify plugin: `await app.register(mw.fastify)`. */
  get fastify(): FastifySessionPlugin {
    this.#fastify ??= fastifyAdapter(this.#engine);
    return this.#fastify;
  }

  /** Wraps a Web-standard `(Request) => Response` handler. */
  fetch<A extends unknown[]>(handler: FetchHandler<A>) {
    return fetchAdapter(this.#engine, handler);
  }

  /** Hono middleware: `app.use(mw.hono())`. */
  hono() {
    return honoAdapter(this.#engine);
  }

  /**
   * The live session a `Cookie` header names: the signature is verified and the session
   * read from the store (expired or destroyed sessions give `undefined`). Read-only, for
   * code outside the request path, e.g. authenticating a WebSocket upgrade. Rejects with
   * `STORE_UNAVAILABLE` when the store fails. The id is a credential: never log it.
   */
  readSession(cookieHeader: string | undefined): Promise<{ id: string; owner: string | undefined } | undefined> {
    return readSession(this.#engine, cookieHeader);
  }

  /**
   * Calls `listener` when a session ends by `destroy()`, `regenerate()` (the old id) or
   * `revokeOwner()`: those of this process at once, and those of other processes when
   * the store can tell them (RedisStore with `notifications: true`); with other stores,
   * this process's only. Returns the call that removes the listener.
   */
  onSessionEnded(listener: (event: SessionEndedEvent) => void): () => void {
    return this.#engine.ended.listen(listener);
  }

  /**
   * Destroys every session whose owner is `owner` (see `session.setOwner`), in the store
   * shared by every node, and tells `onSessionEnded` listeners. Resolves how many live
   * sessions were ended. Needs a store with an owner index (`StoreContractError` otherwise).
   */
  revokeOwner(owner: string): Promise<number> {
    return revokeOwner(this.#engine, owner);
  }

  /** Closes the store if this middleware created it (the default MemoryStore). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#engine.ended.close();
    if (this.#engine.options.ownsStore) await this.#engine.options.store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export function sessionMiddleware(options: SessionOptions): SessionMiddleware {
  return new SessionMiddleware(options);
}

/**
 * "A session ended" events (`onSessionEnded`): destroy, regenerate (the old id) and
 * revokeOwner. This process's listeners hear them at once; with a store that can tell
 * other processes (`publishEnded`/`subscribeEnded`, e.g. RedisStore with notifications),
 * they are published too, and the events of other nodes are delivered here.
 *
 * Subscribed to the store only while someone listens, so a middleware nobody watches
 * holds no extra connection.
 */
import type { SessionEndedEvent, SessionStore } from "../stores/contract.js";

export type SessionEndedListener = (event: SessionEndedEvent) => void;

export class SessionEndedHub {
  readonly #store: SessionStore;
  readonly #onError: (error: Error) => void;
  readonly #listeners = new Set<SessionEndedListener>();
  #unsubscribe: (() => void) | undefined;

  constructor(store: SessionStore, onError: (error: Error) => void) {
    this.#store = store;
    this.#onError = onError;
  }

  listen(listener: SessionEndedListener): () => void {
    if (typeof listener !== "function") throw new TypeError("onSessionEnded needs a listener function");
    // A wrapper per call, so the same function added twice is removed once per unsubscribe.
    const entry: SessionEndedListener = (e) => listener(e);
    this.#listeners.add(entry);
    if (this.#unsubscribe === undefined && typeof this.#store.subscribeEnded === "function") {
      this.#unsubscribe = this.#store.subscribeEnded((e) => this.#deliver(e));
    }
    return () => {
      if (!this.#listeners.delete(entry) || this.#listeners.size > 0) return;
      this.#unsubscribe?.();
      this.#unsubscribe = undefined;
    };
  }

  /**
   * Tells this process's listeners now and publishes to the other nodes. A failed publish
   * goes to `onError`: the session is already gone from the store, so the request that
   * ended it has succeeded; only other nodes' listeners miss the news.
   */
  ended(event: SessionEndedEvent): void {
    this.#deliver(event);
    const publish = this.#store.publishEnded;
    if (typeof publish === "function") {
      publish.call(this.#store, event).catch((error: unknown) => this.#onError(error instanceof Error ? error : new Error(String(error))));
    }
  }

  close(): void {
    this.#listeners.clear();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #deliver(event: SessionEndedEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener({ ...event });
      } catch (error) {
        this.#onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

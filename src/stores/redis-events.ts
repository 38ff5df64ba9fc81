/**
 * Cross-node "session ended" notifications for the Redis store: PUBLISH on one channel,
 * one subscriber connection per store (a subscribed connection can run no other command),
 * made when the first listener subscribes. Each store instance tags what it publishes
 * with a random node id and ignores its own messages: the middleware has already told
 * its own listeners, without waiting for the round trip.
 *
 * node-redis resubscribes by itself after a reconnect; events published while a node is
 * disconnected are lost to it (pub/sub keeps nothing), which is why the store, not the
 * event, is the authority: a destroyed session is gone for every later request anyway.
 */
import type { SessionEndedEvent, SessionEndReason } from "./contract.js";

/** The node-redis calls a subscriber connection needs (client or cluster). */
export interface RedisSubscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: "error", listener: (error: unknown) => void): unknown;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  isOpen?: boolean;
}

const REASONS: ReadonlySet<string> = new Set<SessionEndReason>(["destroy", "regenerate", "revoke-owner"]);

export class RedisEvents {
  readonly channel: string;
  readonly #node: string;
  readonly #make: () => RedisSubscriber;
  readonly #listeners = new Set<(event: SessionEndedEvent) => void>();
  #subscriber: RedisSubscriber | undefined;
  #closed = false;

  constructor(channel: string, node: string, make: () => RedisSubscriber) {
    this.channel = channel;
    this.#node = node;
    this.#make = make;
  }

  encode(event: SessionEndedEvent): string {
    return JSON.stringify({ n: this.#node, i: event.id, o: event.owner ?? null, r: event.reason });
  }

  subscribe(listener: (event: SessionEndedEvent) => void): () => void {
    this.#listeners.add(listener);
    if (this.#subscriber === undefined && !this.#closed) this.#start();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    if (sub === undefined) return;
    try {
      if (sub.isOpen === false) return;
      await (sub.close?.() ?? sub.quit?.());
    } catch {
      try {
        sub.destroy?.();
      } catch {
        // already gone
      }
    }
  }

  #start(): void {
    const sub = this.#make();
    this.#subscriber = sub;
    // Connection trouble shows up in the store's own commands; here it must only not crash.
    sub.on("error", () => undefined);
    // connect() settles once connected (node-redis retries meanwhile); then subscribe.
    void sub
      .connect()
      .then(() => (this.#closed ? undefined : sub.subscribe(this.channel, (message) => this.#deliver(message))))
      .catch(() => undefined);
  }

  #deliver(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const m = parsed as { n?: unknown; i?: unknown; o?: unknown; r?: unknown };
    if (typeof m !== "object" || m === null || m.n === this.#node || typeof m.i !== "string" || typeof m.r !== "string") return;
    if (!REASONS.has(m.r)) return;
    const event: SessionEndedEvent = { id: m.i, owner: typeof m.o === "string" ? m.o : undefined, reason: m.r as SessionEndReason };
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A throwing listener must not stop the others (the middleware reports its own).
      }
    }
  }
}

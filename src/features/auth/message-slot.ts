/**
 * Per-message state of one auth object, kept on the Message under a private symbol.
 *
 * Why not a WeakMap<Message, T>: a WeakMap entry per request is paid for in the garbage
 * collector (ephemeron tables), which measured as several microseconds per request on the
 * hot path — more than the Digest hashing itself. A symbol-keyed property dies with the
 * message like a WeakMap entry would. Symbol keys stay out of JSON and Message's custom
 * inspect output, so the secrets in this state (e.g. Digest's H(A1)) are never printed.
 */
import type { Message } from "../../http/message.js";

export class MessageSlot<T> {
  readonly #key: symbol;

  constructor(description: string) {
    this.#key = Symbol(description);
  }

  get(msg: Message): T | undefined {
    return (msg as unknown as Record<symbol, T | undefined>)[this.#key];
  }

  /** Sets (or, with undefined, clears without `delete`, keeping the message's shape stable). */
  set(msg: Message, value: T | undefined): void {
    (msg as unknown as Record<symbol, T | undefined>)[this.#key] = value;
  }
}

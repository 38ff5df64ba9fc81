/**
 * A per-request cancellation token that costs a plain object instead of an AbortController.
 *
 * Why not AbortController: creating one (and its AbortSignal EventTarget) and adding and
 * removing listeners on it was the largest single cost of a request in profiles (about a
 * tenth of the client's CPU at 64 requests in flight). A request needs only "is it
 * aborted, why, and tell these few listeners". undici's `request({ signal })` and the pool
 * accept any object with `aborted`, `reason` and add/removeEventListener, so this token is
 * handed to both as-is; a caller's real AbortSignal is only listened to when one is given.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export class Cancellation implements AbortLike {
  aborted = false;
  reason: unknown = undefined;
  #listeners: Array<() => void> | null = null;

  addEventListener(_type: "abort", listener: () => void): void {
    (this.#listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const list = this.#listeners;
    if (list === null) return;
    const i = list.indexOf(listener);
    if (i !== -1) list.splice(i, 1);
  }

  /** Marks the request aborted and runs each listener once (as `{ once: true }` would). */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const list = this.#listeners;
    this.#listeners = null;
    if (list !== null) for (const fn of list) fn();
  }

  /** For undici, which wants an AbortSignal-shaped value. */
  get signal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}

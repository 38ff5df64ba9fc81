/**
 * One in-flight operation shared by every caller that asks while it runs (Go's
 * singleflight). Used for refresh and login: a thousand requests that find the token expired
 * at once wait on one refresh call instead of making a thousand.
 */
export class SingleFlight<T> {
  #current: Promise<T> | null = null;

  /** The running operation, if any. */
  get current(): Promise<T> | null {
    return this.#current;
  }

  /**
   * Joins the running operation, or starts `fn` when none runs. `fn` starts synchronously,
   * so the request it makes enters the session's queue before any caller's that follows.
   */
  run(fn: () => Promise<T>): Promise<T> {
    if (this.#current !== null) return this.#current;
    let started: Promise<T>;
    try {
      started = fn();
    } catch (err) {
      started = Promise.reject(err);
    }
    const tracked: Promise<T> = started.finally(() => {
      if (this.#current === tracked) this.#current = null;
    });
    this.#current = tracked;
    return tracked;
  }
}

/**
 * How long a session lives: the server's idle and absolute timeouts, or the session's own
 * lifetime (`session.setMaxAge(ms)`) within `maxAgeBounds`. One place for the expiry
 * rules, used by the loads, the commits and the cookie.
 */
import { InvalidArgumentError } from "../errors.js";
import type { ResolvedOptions } from "./options.js";

export class Lifetimes {
  readonly #o: ResolvedOptions;

  constructor(options: ResolvedOptions) {
    this.#o = options;
  }

  /** A stored per-session lifetime, brought within the bounds the server has now. */
  bounded(maxAge: number | undefined): number | undefined {
    if (typeof maxAge !== "number" || !Number.isFinite(maxAge)) return undefined;
    const { min, max } = this.#o.maxAgeBounds;
    return Math.min(max, Math.max(min, maxAge));
  }

  /** Unused for this long, the session expires. */
  idle(maxAge: number | undefined): number {
    return maxAge ?? this.#o.idleTimeout;
  }

  /** This long after its creation, the session expires whatever its use. */
  absolute(maxAge: number | undefined): number {
    return maxAge === undefined ? this.#o.absoluteTimeout : Math.max(maxAge, this.#o.absoluteTimeout);
  }

  /** Past its idle expiry, or its absolute timeout (enforced here whatever TTL the store kept). */
  expired(createdAt: number, expiresAt: number, now: number, maxAge: number | undefined): boolean {
    return expiresAt <= now || createdAt + this.absolute(this.bounded(maxAge)) <= now;
  }

  /** The expiry a use at `now` gives. */
  expiryFor(createdAt: number, maxAge: number | undefined, now: number): number {
    return Math.min(now + this.idle(maxAge), createdAt + this.absolute(maxAge));
  }

  /** Throws `InvalidArgumentError` when `ms` is outside `maxAgeBounds` (undefined is fine). */
  check(ms: number | undefined): void {
    if (ms === undefined) return;
    const { min, max } = this.#o.maxAgeBounds;
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < min || ms > max) {
      throw new InvalidArgumentError(`setMaxAge(ms) needs a number of milliseconds from ${min} to ${max} (the maxAgeBounds option)`);
    }
  }
}

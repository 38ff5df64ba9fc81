/**
 * A login/refresh rate-limit gate shared by a fleet: when one process is told to wait (a
 * 429, or `remaining: 0`), every process sharing the coordinator key waits as well, instead
 * of each spending its own attempt to learn the same thing.
 *
 * It is a LoginGate (the synchronous `check` and `observe` the exchange path calls) plus two
 * async steps around each exchange: `sync()` before (read the fleet's gate) and `flush()`
 * after (write what this process learnt). Exchanges are rare (logins, refreshes), so the
 * extra round trips cost nothing measurable.
 */
import type { MessageHeaders } from "../../http/headers.js";
import type { CredentialCoordinator } from "../coordinator.js";
import { RateLimitedError } from "../errors.js";
import { LoginGate, type LoginGateOptions } from "../rate-limit.js";

export class SharedLoginGate extends LoginGate {
  readonly #coordinator: CredentialCoordinator;
  readonly #key: string;
  readonly #name: string;
  /** What the fleet said at the last sync (epoch ms). */
  #fleetUntil = 0;
  /** A wait learnt here that the fleet has not been told yet. */
  #unshared: Promise<void> | null = null;

  constructor(coordinator: CredentialCoordinator, key: string, name: string, options: LoginGateOptions = {}) {
    super(options);
    this.#coordinator = coordinator;
    this.#key = key;
    this.#name = name;
  }

  override get blockedUntil(): number {
    return Math.max(super.blockedUntil, this.#fleetUntil);
  }

  override check(what = "login", now = Date.now()): void {
    if (now < this.#fleetUntil) throw new RateLimitedError(this.#fleetUntil - now, what);
    super.check(what, now);
  }

  override observe(status: number, headers: MessageHeaders, what = "login", now = Date.now()): RateLimitedError | null {
    const before = super.blockedUntil;
    const result = super.observe(status, headers, what, now);
    const after = super.blockedUntil;
    if (after > before) {
      const previous = this.#unshared ?? Promise.resolve();
      this.#unshared = previous.then(() => this.#coordinator.raiseGate(this.#key, this.#name, after));
    }
    return result;
  }

  /** Reads the fleet's gate (call before an exchange). */
  async sync(): Promise<void> {
    this.#fleetUntil = await this.#coordinator.readGate(this.#key, this.#name);
  }

  /** Tells the fleet what this process learnt (call after an exchange); rejects when the coordinator failed. */
  async flush(): Promise<void> {
    const pending = this.#unshared;
    if (pending === null) return;
    this.#unshared = null;
    await pending;
  }

  /**
   * Runs one exchange between `sync` and `flush`. A failure to share is reported only when
   * the exchange itself succeeded: a RateLimitedError from the exchange says more, and this
   * process's own gate holds either way.
   */
  async around<T>(exchange: () => Promise<T>): Promise<T> {
    await this.sync();
    let result: T;
    try {
      result = await exchange();
    } catch (error) {
      await this.flush().catch(() => undefined);
      throw error;
    }
    await this.flush();
    return result;
  }
}

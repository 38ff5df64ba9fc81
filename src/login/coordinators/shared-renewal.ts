/**
 * How a credential session renews its tokens when other processes share its saved session
 * through a CredentialCoordinator. One object per credential session; every backend gets
 * the same rules:
 *
 * 1. Read the shared state. When it holds another session than ours, a sibling already
 *    renewed (or logged in, or the session ended): adopt it, do not refresh.
 * 2. Otherwise take the lock. Whoever does not get it waits for a change (pub/sub, or a
 *    poll) and starts again at 1, so it adopts the holder's new tokens when they come, or
 *    takes the lock itself when the holder released it without writing or died (the lease
 *    lapses; the holder extends it every lease/3 while it refreshes, so a slow refresh
 *    keeps it and a killed process loses it within one lease).
 * 3. The holder reads once more (a previous holder may have written between 1 and 2), then
 *    refreshes and writes with compare-and-set on the version it read. The write is not
 *    tied to the lease: when a lease lapsed under a slow holder and the next holder
 *    refreshed too, the version decides, and the loser adopts the winner's tokens.
 * 4. A refused refresh (the refresh token was rotated under us, or is dead) reads again: a
 *    sibling's new session is adopted; when there is none, the session ended for everyone,
 *    so the holder writes "ended" and siblings go to EXPIRED without trying the dead token.
 *
 * "Another session than ours" is decided by comparing the session strings, not version
 * numbers: a process that imported an old saved string while the fleet moved on therefore
 * adopts the fleet's session (an imported string never overrides the shared one; a login
 * does, see `publish`).
 */
import {
  assertCoordinationKey,
  assertCoordinator,
  CoordinatorUnavailableError,
  type CoordinationOptions,
  type CoordinatorLease,
  type CredentialCoordinator,
  type SharedSessionState,
} from "../coordinator.js";
import { SessionExpiredError } from "../errors.js";
import type { CredentialProfile } from "../profile.js";
import { decodeSessionString, encodeSessionString } from "../session-string.js";
import { SharedLoginGate } from "./shared-gate.js";

export interface StateCodec<S> {
  encode(state: S): string;
  decode(value: string): S;
}

/** A profile's states as `sessionkit:1:` strings (the profile's own export format may lose fields). */
export function profileCodec<C, S>(profile: CredentialProfile<C, S>): StateCodec<S> {
  return {
    encode: (state) => encodeSessionString(profile.name, profile.encodeState(state)),
    decode: (value) => profile.decodeState(decodeSessionString(value, profile.name)),
  };
}

/** What a renewal ended with: our own new state, or the state a sibling wrote (null: the session ended). */
export type RenewalOutcome<S> = { kind: "renewed"; state: S } | { kind: "adopted"; state: S | null };

export class SharedRenewal<S> {
  readonly coordinator: CredentialCoordinator;
  readonly key: string;
  readonly #codec: StateCodec<S>;
  readonly #leaseMs: number;
  readonly #maxWaitMs: number;

  constructor(options: CoordinationOptions, codec: StateCodec<S>) {
    if (typeof options !== "object" || options === null) throw new TypeError("coordination must be { coordinator, key }");
    assertCoordinator(options.coordinator, "coordination.coordinator");
    assertCoordinationKey(options.key, "coordination.key");
    this.coordinator = options.coordinator;
    this.key = options.key;
    this.#codec = codec;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
    for (const [name, v] of [
      ["leaseMs", this.#leaseMs],
      ["maxWaitMs", this.#maxWaitMs],
    ] as const) {
      if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) throw new TypeError(`coordination.${name} must be a positive number`);
    }
  }

  /** A rate-limit gate shared by the fleet under this key (`name`: "login", "refresh"). */
  gate(name: string, defaultWaitMs: number): SharedLoginGate {
    return new SharedLoginGate(this.coordinator, this.key, name, { defaultWaitMs });
  }

  /**
   * Tells the fleet about a session made here (a login: CREATE) or ended here (LOGOUT):
   * it replaces whatever is shared, whatever its version.
   */
  async publish(state: S | null): Promise<void> {
    await this.coordinator.write(this.key, null, state === null ? null : this.#codec.encode(state));
  }

  /**
   * Renews `current` (the state this process holds) once for the whole fleet. `renew` does
   * the network part (refresh, or a new login for services without refresh tokens) and
   * throws SessionExpiredError when the service refuses.
   */
  async renew(current: S, renew: (state: S) => Promise<S>): Promise<RenewalOutcome<S>> {
    const mine = this.#codec.encode(current);
    const deadline = Date.now() + this.#maxWaitMs;
    const watch = this.coordinator.watch(this.key);
    try {
      for (;;) {
        const seen = await this.coordinator.read(this.key);
        if (seen !== null && seen.value !== mine) return this.#adopt(seen);
        const lease = await this.coordinator.acquire(this.key, this.#leaseMs);
        if (lease !== null) {
          try {
            return await this.#renewHolding(mine, current, renew, lease);
          } finally {
            await this.coordinator.release(lease).catch(() => undefined); // it lapses by itself
          }
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new CoordinatorUnavailableError(
            `No sibling finished renewing the session within ${this.#maxWaitMs} ms (${this.coordinator.kind} coordinator)`,
          );
        }
        // Backends without a poll of their own (memory) hear of a release but not of a
        // lease that ran out: look again a few times per lease.
        await watch.next(Math.min(left, Math.max(10, this.#leaseMs / 4)));
      }
    } finally {
      watch.close();
    }
  }

  async #renewHolding(mine: string, current: S, renew: (state: S) => Promise<S>, lease: CoordinatorLease): Promise<RenewalOutcome<S>> {
    const base = await this.coordinator.read(this.key);
    if (base !== null && base.value !== mine) return this.#adopt(base);
    let next: S;
    const heartbeat = setInterval(() => void this.coordinator.extend(lease, this.#leaseMs).catch(() => false), this.#leaseMs / 3);
    heartbeat.unref();
    try {
      next = await renew(current);
    } catch (error) {
      if (!(error instanceof SessionExpiredError)) throw error;
      const after = await this.coordinator.read(this.key);
      if (after !== null && after.value !== mine) return this.#adopt(after);
      // Nobody holds a newer session: it ended for everyone. A lost race here means someone
      // wrote meanwhile; that write wins and is adopted by the next renewal.
      await this.coordinator.write(this.key, after?.version ?? 0, null).catch(() => null);
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
    let written: SharedSessionState | null;
    try {
      written = await this.coordinator.write(this.key, base?.version ?? 0, this.#codec.encode(next));
    } catch {
      // The tokens are ours now (the old refresh token is spent): keep them, so this
      // process goes on working and the application persists them on REFRESH; siblings
      // that cannot read the coordinator fail on their own renewal.
      return { kind: "renewed", state: next };
    }
    if (written !== null) return { kind: "renewed", state: next };
    // Someone wrote after our read (our lease lapsed and a successor refreshed too): the
    // version decides, and theirs came first.
    const theirs = await this.coordinator.read(this.key);
    return theirs !== null && theirs.value !== mine ? this.#adopt(theirs) : { kind: "renewed", state: next };
  }

  #adopt(shared: SharedSessionState): RenewalOutcome<S> {
    if (shared.value === null) return { kind: "adopted", state: null };
    try {
      return { kind: "adopted", state: this.#codec.decode(shared.value) };
    } catch (error) {
      throw new CoordinatorUnavailableError(`The ${this.coordinator.kind} coordinator holds a session this profile cannot read`, { cause: error });
    }
  }
}

/**
 * MemoryCoordinator: the coordinator contract inside one process. A credential session
 * without a coordinator already behaves like this (its own single flight, nothing shared).
 * Give one MemoryCoordinator to several credential sessions of one process that share one
 * saved session (e.g. one per HTTP Session with different settings) so they refresh once
 * and adopt each other's tokens, exactly as processes do with SQLite or Redis. It is also
 * the reference the other backends are tested against.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { ChangeWatch, CoordinatorLease, CredentialCoordinator, SharedSessionState } from "../coordinator.js";
import { CoordinatorUnavailableError } from "../coordinator.js";
import { eventWatch } from "./event-watch.js";

interface Lock {
  token: string;
  until: number;
}

export class MemoryCoordinator implements CredentialCoordinator {
  readonly kind = "memory";
  readonly #states = new Map<string, SharedSessionState>();
  readonly #locks = new Map<string, Lock>();
  readonly #gates = new Map<string, number>();
  readonly #events = new EventEmitter().setMaxListeners(0);
  #closed = false;

  async read(key: string): Promise<SharedSessionState | null> {
    this.#assertOpen();
    return this.#states.get(key) ?? null;
  }

  async write(key: string, expected: number | null, value: string | null): Promise<SharedSessionState | null> {
    this.#assertOpen();
    const current = this.#states.get(key)?.version ?? 0;
    if (expected !== null && expected !== current) return null;
    const next = { version: current + 1, value, updatedAt: Date.now() };
    this.#states.set(key, next);
    this.#events.emit(key);
    return next;
  }

  async acquire(key: string, leaseMs: number): Promise<CoordinatorLease | null> {
    this.#assertOpen();
    const now = Date.now();
    const held = this.#locks.get(key);
    if (held !== undefined && held.until > now) return null;
    const token = randomUUID();
    this.#locks.set(key, { token, until: now + leaseMs });
    return { key, token };
  }

  async extend(lease: CoordinatorLease, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    const held = this.#locks.get(lease.key);
    const now = Date.now();
    if (held === undefined || held.token !== lease.token || held.until <= now) return false;
    held.until = now + leaseMs;
    return true;
  }

  async release(lease: CoordinatorLease): Promise<void> {
    if (this.#closed) return;
    if (this.#locks.get(lease.key)?.token === lease.token) this.#locks.delete(lease.key);
    this.#events.emit(lease.key);
  }

  watch(key: string): ChangeWatch {
    return eventWatch(this.#events, key);
  }

  async readGate(key: string, name: string): Promise<number> {
    this.#assertOpen();
    return this.#gates.get(`${key}\n${name}`) ?? 0;
  }

  async raiseGate(key: string, name: string, until: number): Promise<void> {
    this.#assertOpen();
    const k = `${key}\n${name}`;
    this.#gates.set(k, Math.max(this.#gates.get(k) ?? 0, until));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#events.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new CoordinatorUnavailableError("The memory coordinator is closed");
  }
}

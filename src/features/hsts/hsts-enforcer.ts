/**
 * HSTSEnforcer: libsoup's SoupHSTSEnforcer as a session feature (RFC 6797).
 *  - beforeSend (every hop, so redirects too): http:// and ws:// URLs of known hosts become
 *    https:// and wss:// (port 80 → 443, other ports kept).
 *  - gotHeaders: Strict-Transport-Security is read from https responses only (a response
 *    exists only after a valid TLS handshake: the session has no "ignore TLS errors"
 *    switch), never for IP-literal hosts; max-age=0 deletes the policy.
 *  - failed: a TLS failure on a known HSTS host is fatal (RFC 6797 §8.4): the error is
 *    marked (HSTSEnforcer.isFatalError) and, since every later http:// request to the host
 *    is rewritten too, nothing ever falls back to plain http.
 * This class keeps policies in memory (session-only); HSTSEnforcerDB persists them.
 */
import { EventEmitter } from "node:events";
import { InvalidArgumentError, SessionKitError } from "../../errors.js";
import { FeatureOrder, type SessionFeature } from "../../http/feature.js";
import type { Message } from "../../http/message.js";
import { canonicalDomain, HSTSPolicy } from "./hsts-policy.js";
import { parseStsHeader } from "./sts-header.js";

export interface HSTSEnforcerEvents {
  /** A policy was added (old null), replaced, or removed (new null). */
  changed: [oldPolicy: HSTSPolicy | null, newPolicy: HSTSPolicy | null];
  /** A message's URL was rewritten to https (libsoup's hsts-enforced). */
  "hsts-enforced": [msg: Message];
  /** A persistent store failed to write. */
  error: [error: Error];
}

export interface HSTSEnforcerOptions {
  /** Most policies kept; beyond it the one expiring soonest goes. @default 10000 */
  maxPolicies?: number;
}

/**
 * A refreshed policy (same max-age and includeSubDomains) is re-announced through
 * `changed` (and so re-persisted) only when its expiry moved at least this far; otherwise
 * every https response would cause a database write.
 */
const REFRESH_GRANULARITY_MS = 60_000;

const fatalErrors = new WeakSet<object>();

export class HSTSEnforcer extends EventEmitter<HSTSEnforcerEvents> implements SessionFeature {
  readonly order: number = FeatureOrder.HSTS;
  readonly maxPolicies: number;
  readonly #host = new Map<string, HSTSPolicy>();
  readonly #session = new Map<string, HSTSPolicy>();
  #closed = false;

  constructor(options: HSTSEnforcerOptions = {}) {
    super();
    const max = options.maxPolicies ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new InvalidArgumentError("HSTSEnforcer: `maxPolicies` must be a positive integer");
    this.maxPolicies = max;
  }

  /** True when the error was a TLS failure on a known HSTS host (no bypass, no http fallback). */
  static isFatalError(error: unknown): boolean {
    return typeof error === "object" && error !== null && fatalErrors.has(error);
  }

  get isPersistent(): boolean {
    return false;
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ── libsoup's API ──────────────────────────────────────────────────────────────────────

  /** True when `host` (or a parent with includeSubDomains) has an unexpired policy. */
  hasValidPolicy(host: string): boolean {
    return this.#lookup(host) !== null;
  }

  /** The policy that applies to `host`, if any. */
  getPolicyFor(host: string): HSTSPolicy | null {
    return this.#lookup(host);
  }

  /** All unexpired policies; session policies too unless `sessionPolicies` is false. */
  getPolicies(sessionPolicies = true): HSTSPolicy[] {
    const now = Date.now();
    const out = [...this.#host.values()].filter((p) => !p.isExpired(now));
    if (sessionPolicies) out.push(...this.#session.values());
    return out;
  }

  /** The domains of getPolicies(). */
  getDomains(sessionPolicies = true): string[] {
    return this.getPolicies(sessionPolicies).map((p) => p.domain);
  }

  /**
   * Adds, replaces or (when expired, e.g. max-age=0) removes a policy, as if a
   * Strict-Transport-Security header had been received. Session policies go to their own
   * table that headers never touch.
   */
  setPolicy(policy: HSTSPolicy): void {
    if (!(policy instanceof HSTSPolicy)) throw new InvalidArgumentError("setPolicy needs an HSTSPolicy");
    if (policy.isSessionPolicy) {
      this.#put(this.#session, policy);
    } else if (policy.isExpired()) {
      const old = this.#host.get(policy.domain);
      if (old) {
        this.#host.delete(policy.domain);
        this.#changed(old, null);
      }
    } else {
      this.#put(this.#host, policy);
    }
  }

  /** A policy that lasts as long as this enforcer (libsoup's set_session_policy). */
  setSessionPolicy(domain: string, includeSubDomains: boolean): void {
    this.setPolicy(HSTSPolicy.sessionPolicy(domain, includeSubDomains));
  }

  /** Removes the (header-set or persisted) policy for exactly `domain`. */
  removePolicy(domain: string): void {
    const d = canonicalDomain(domain);
    const old = d === null ? undefined : this.#host.get(d);
    if (d !== null && old) {
      this.#host.delete(d);
      this.#changed(old, null);
    }
  }

  // ── feature hooks ──────────────────────────────────────────────────────────────────────

  beforeSend(msg: Message): void {
    const url = msg.url;
    if (url.protocol !== "http:" && url.protocol !== "ws:") return;
    if (!this.hasValidPolicy(url.hostname)) return;
    const next = new URL(url.href);
    const explicitPort = next.port;
    next.protocol = url.protocol === "http:" ? "https:" : "wss:";
    // RFC 6797 §8.3: port 80 (the default, so "" here) becomes 443; any other port is kept.
    next.port = explicitPort === "" || explicitPort === "80" ? "" : explicitPort;
    msg.url = next;
    this.emit("hsts-enforced", msg);
  }

  gotHeaders(msg: Message): void {
    const url = msg.url;
    if (url.protocol !== "https:" && url.protocol !== "wss:") return;
    // A 407 on an https URL is the proxy answering our CONNECT, not the origin.
    if (msg.status === 0 || msg.status === 407) return;
    const domain = canonicalDomain(url.hostname);
    if (domain === null) return; // IP literals never get policies (§8.1.1)
    // §8.1: only the first STS header counts.
    const directives = parseStsHeader(msg.responseHeaders.getOne("Strict-Transport-Security"));
    if (directives === null) return;
    this.setPolicy(new HSTSPolicy(domain, directives.maxAge, directives.includeSubDomains));
  }

  failed(msg: Message, error: Error): void {
    if (!(error instanceof SessionKitError) || error.code !== "TLS_FAILED") return;
    if (this.hasValidPolicy(msg.url.hostname)) fatalErrors.add(error);
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────────────

  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  override toString(): string {
    return `${this.constructor.name} { ${this.#host.size} policies, ${this.#session.size} session policies }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** Persistent subclasses write through here (session policies never come here). */
  protected onPolicyChange(_old: HSTSPolicy | null, _new: HSTSPolicy | null): void {}

  /** @internal persistent subclasses load stored policies without events. */
  protected loadPolicy(policy: HSTSPolicy): void {
    if (!policy.isSessionPolicy && !policy.isExpired()) this.#host.set(policy.domain, policy);
  }

  protected emitStoreError(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount("error") > 0) this.emit("error", error);
    else process.emitWarning(`sessionkit HSTSEnforcer: policy store failed: ${error.message}`, "SessionKitWarning");
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────

  #put(table: Map<string, HSTSPolicy>, policy: HSTSPolicy): void {
    const old = table.get(policy.domain) ?? null;
    table.set(policy.domain, policy);
    if (old === null) this.#evict();
    const moved = old !== null && Math.abs((policy.expires?.getTime() ?? 0) - (old.expires?.getTime() ?? 0)) >= REFRESH_GRANULARITY_MS;
    if (old === null || !old.equals(policy) || moved) this.#changed(old, policy);
  }

  #changed(oldPolicy: HSTSPolicy | null, newPolicy: HSTSPolicy | null): void {
    const persistent = (p: HSTSPolicy | null) => p !== null && !p.isSessionPolicy;
    if (persistent(oldPolicy) || persistent(newPolicy)) {
      try {
        this.onPolicyChange(persistent(oldPolicy) ? oldPolicy : null, persistent(newPolicy) ? newPolicy : null);
      } catch (err) {
        this.emitStoreError(err);
      }
    }
    this.emit("changed", oldPolicy, newPolicy);
  }

  /** Over the cap: drop expired policies, then the ones expiring soonest. */
  #evict(): void {
    const total = this.#host.size + this.#session.size;
    if (total <= this.maxPolicies) return;
    const now = Date.now();
    for (const [d, p] of this.#host) {
      if (p.isExpired(now)) {
        this.#host.delete(d);
        this.#changed(p, null);
      }
    }
    let over = this.#host.size + this.#session.size - this.maxPolicies;
    if (over <= 0) return;
    const victims = [...this.#host.values()].sort((a, b) => a.expires!.getTime() - b.expires!.getTime());
    for (const p of victims) {
      if (over-- <= 0) break;
      this.#host.delete(p.domain);
      this.#changed(p, null);
    }
  }

  /** Exact host first, then each parent domain whose policy includes subdomains (§8.2). */
  #lookup(host: string): HSTSPolicy | null {
    const d = canonicalDomain(host);
    if (d === null) return null;
    const now = Date.now();
    let name = d;
    let exact = true;
    for (;;) {
      for (const p of [this.#session.get(name), this.#validHost(name, now)]) {
        if (p && (exact || p.includeSubDomains)) return p;
      }
      const dot = name.indexOf(".");
      if (dot < 0) return null;
      name = name.slice(dot + 1);
      exact = false;
    }
  }

  #validHost(name: string, now: number): HSTSPolicy | undefined {
    const p = this.#host.get(name);
    if (p === undefined) return undefined;
    if (p.isExpired(now)) {
      // Lapsed policies go lazily, as in libsoup.
      this.#host.delete(name);
      this.#changed(p, null);
      return undefined;
    }
    return p;
  }
}

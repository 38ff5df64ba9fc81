/**
 * What a RealtimeServer lets in: the table of sessions it holds, counted per client
 * address and indexed by the HTTP session they are bound to, and the count of sockets
 * still in their handshake. Counting lives in the table's own `set`/`delete`, so every
 * path that adds or drops a session (hello, resume, cluster take-over, close) keeps the
 * counts right without remembering to.
 */
import { isIPv4 } from "node:net";
import type { ServerSession } from "./server-session.js";

/**
 * The key a client address is counted under: an IPv4 address as it is (also when written
 * IPv4-mapped, `::ffff:1.2.3.4`), an IPv6 address by its /64 prefix, since one host
 * usually holds a whole /64 and could otherwise take a new address per session.
 */
export function addressKey(ip: string): string {
  if (ip.startsWith("::ffff:") && isIPv4(ip.slice(7))) return ip.slice(7);
  if (!ip.includes(":")) return ip;
  const [head = "", tail] = ip.split("::", 2);
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g.replace(/^0+/, "") || "0").toLowerCase())
    .join(":")}::/64`;
}

function add<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function remove<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set?.delete(value) && set.size === 0) index.delete(key);
}

/** The sessions a node holds, by id, with the counts and indexes the limits need. */
export class SessionTable extends Map<string, ServerSession> {
  readonly #perAddress = new Map<string, number>();
  readonly #byHttpSession = new Map<string, Set<ServerSession>>();
  readonly #byOwner = new Map<string, Set<ServerSession>>();

  override set(id: string, session: ServerSession): this {
    const old = super.get(id);
    if (old === session) return this;
    if (old) this.#unindex(old);
    super.set(id, session);
    this.#index(session);
    return this;
  }

  override delete(id: string): boolean {
    const old = super.get(id);
    if (!old) return false;
    super.delete(id);
    this.#unindex(old);
    return true;
  }

  override clear(): void {
    super.clear();
    this.#perAddress.clear();
    this.#byHttpSession.clear();
    this.#byOwner.clear();
  }

  /** Sessions held here that were opened from this address key (see addressKey). */
  countFrom(key: string): number {
    return this.#perAddress.get(key) ?? 0;
  }

  /** Sessions held here that are bound to this HTTP session id. */
  boundTo(httpSessionId: string): ServerSession[] {
    return [...(this.#byHttpSession.get(httpSessionId) ?? [])];
  }

  /** Sessions held here whose HTTP session belongs to this owner. */
  ownedBy(owner: string): ServerSession[] {
    return [...(this.#byOwner.get(owner) ?? [])];
  }

  #index(s: ServerSession): void {
    const key = addressKey(s.properties.$ClientIP ?? "");
    this.#perAddress.set(key, (this.#perAddress.get(key) ?? 0) + 1);
    const http = s.properties.$HttpSession;
    if (http !== undefined) add(this.#byHttpSession, http, s);
    const owner = s.properties.$Owner;
    if (http !== undefined && owner) add(this.#byOwner, owner, s);
  }

  #unindex(s: ServerSession): void {
    const key = addressKey(s.properties.$ClientIP ?? "");
    const n = (this.#perAddress.get(key) ?? 1) - 1;
    if (n > 0) this.#perAddress.set(key, n);
    else this.#perAddress.delete(key);
    const http = s.properties.$HttpSession;
    if (http !== undefined) remove(this.#byHttpSession, http, s);
    const owner = s.properties.$Owner;
    if (http !== undefined && owner) remove(this.#byOwner, owner, s);
  }
}

/** Sockets between the upgrade and a valid hello or resume, in all and per address key. */
export class PendingHandshakes {
  #total = 0;
  readonly #perAddress = new Map<string, number>();
  readonly #max: number;
  readonly #maxPerAddress: number;

  constructor(max: number, maxPerAddress: number) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
  }

  get size(): number {
    return this.#total;
  }

  /**
   * Counts one more handshake from `key`, or returns undefined when a limit is reached.
   * The returned function uncounts it; calling it again does nothing.
   */
  admit(key: string): (() => void) | undefined {
    const n = this.#perAddress.get(key) ?? 0;
    if (this.#total >= this.#max || n >= this.#maxPerAddress) return undefined;
    this.#total++;
    this.#perAddress.set(key, n + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#total--;
      const left = (this.#perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(key, left);
      else this.#perAddress.delete(key);
    };
  }
}

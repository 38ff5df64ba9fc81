/**
 * Message headers: case-insensitive names, multiple values per name, insertion order kept
 * (libsoup's SoupMessageHeaders). Stored as one flat array `[name, value, name, value…]`
 * because that is exactly the form undici takes, so sending needs no conversion.
 */
import { InvalidArgumentError } from "../errors.js";

// RFC 9110 token for names; values may not contain CR, LF or NUL (header injection). Other
// control bytes are left to undici, which refuses them at send time (mapped to
// INVALID_ARGUMENT in transport-errors.ts): response headers built by features and tests
// must still be able to carry hostile values.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

export type HeadersInit = MessageHeaders | Iterable<readonly [string, string]> | Record<string, string | readonly string[] | undefined>;

export class MessageHeaders implements Iterable<[string, string]> {
  #list: string[] = [];

  constructor(init?: HeadersInit) {
    if (init === undefined) return;
    if (init instanceof MessageHeaders) {
      this.#list = init.#list.slice();
    } else if (Symbol.iterator in (init as object)) {
      for (const [k, v] of init as Iterable<readonly [string, string]>) this.append(k, v);
    } else {
      for (const [k, v] of Object.entries(init as Record<string, string | readonly string[] | undefined>)) {
        if (v === undefined) continue;
        if (typeof v === "string") this.append(k, v);
        else for (const one of v) this.append(k, one);
      }
    }
  }

  /**
   * Builds headers from undici's response header record (lower-case names, arrays for
   * repeated names) without validation: the values come from undici's parser.
   */
  static fromUndici(record: Record<string, string | string[] | undefined>): MessageHeaders {
    const h = new MessageHeaders();
    const list = h.#list;
    for (const name in record) {
      const v = record[name];
      if (v === undefined) continue;
      if (typeof v === "string") list.push(name, v);
      else for (const one of v) list.push(name, one);
    }
    return h;
  }

  /**
   * @internal Takes a flat `[name, value, …]` list from the HTTP parser as it is (names as
   * the server sent them), without validation or a copy.
   */
  static _fromFlat(list: string[]): MessageHeaders {
    const h = new MessageHeaders();
    h.#list = list;
    return h;
  }

  static #check(name: string, value: string): void {
    if (!TOKEN.test(name)) throw new InvalidArgumentError(`Invalid header name: ${JSON.stringify(name.slice(0, 64))}`);
    if (BAD_VALUE.test(value)) throw new InvalidArgumentError(`Invalid value for header ${name}: contains CR, LF or NUL`);
  }

  /** Adds a value, keeping any existing values of the same name. */
  append(name: string, value: string): void {
    value = String(value);
    MessageHeaders.#check(name, value);
    this.#list.push(name, value.trim());
  }

  /** Replaces every value of `name` with `value` (keeps the position of the first one). */
  set(name: string, value: string): void {
    value = String(value);
    MessageHeaders.#check(name, value);
    const lower = name.toLowerCase();
    const list = this.#list;
    let found = -1;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i].toLowerCase() === lower) {
        if (found === -1) {
          found = i;
          list[i + 1] = value.trim();
        } else {
          list.splice(i, 2);
          i -= 2;
        }
      }
    }
    if (found === -1) list.push(name, value.trim());
  }

  delete(name: string): void {
    const lower = name.toLowerCase();
    const list = this.#list;
    for (let i = list.length - 2; i >= 0; i -= 2) if (list[i].toLowerCase() === lower) list.splice(i, 2);
  }

  has(name: string): boolean {
    const lower = name.toLowerCase();
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) if (list[i].toLowerCase() === lower) return true;
    return false;
  }

  /** All values joined with ", " (RFC 9110 list form), or null when absent. Use getAll for Set-Cookie. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    const list = this.#list;
    let out: string | null = null;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i].toLowerCase() === lower) out = out === null ? list[i + 1] : `${out}, ${list[i + 1]}`;
    }
    return out;
  }

  /** Every value of `name` in order, each separately (needed for Set-Cookie, WWW-Authenticate). */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    const list = this.#list;
    const out: string[] = [];
    for (let i = 0; i < list.length; i += 2) if (list[i].toLowerCase() === lower) out.push(list[i + 1]);
    return out;
  }

  /** The first value only (libsoup's get_one), or null. */
  getOne(name: string): string | null {
    const lower = name.toLowerCase();
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) if (list[i].toLowerCase() === lower) return list[i + 1];
    return null;
  }

  clear(): void {
    this.#list = [];
  }

  get size(): number {
    return this.#list.length / 2;
  }

  *entries(): IterableIterator<[string, string]> {
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) yield [list[i], list[i + 1]];
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(fn: (value: string, name: string) => void): void {
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) fn(list[i + 1], list[i]);
  }

  /** The flat `[name, value, …]` array undici accepts. A copy. */
  toFlatArray(): string[] {
    return this.#list.slice();
  }

  /** @internal the live flat array, for the send path (no copy). */
  get _flat(): readonly string[] {
    return this.#list;
  }

  /** A Web `Headers` object (for `session.fetch`). */
  toWebHeaders(): Headers {
    const h = new Headers();
    const list = this.#list;
    for (let i = 0; i < list.length; i += 2) h.append(list[i], list[i + 1]);
    return h;
  }
}

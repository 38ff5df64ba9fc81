/**
 * Session values beyond JSON: `Date`, `Map`, `Set`, `BigInt`, `Uint8Array` (and `Buffer`),
 * `undefined` in objects and arrays. Stores only ever see JSON: a value that is plain JSON
 * is stored exactly as before (so sessions stored by earlier versions read the same, and
 * the common case costs nothing extra), any other value is stored as a versioned envelope
 *
 *   {"$sk": 1, "v": <tree>}
 *
 * whose tree is JSON except for tagged nodes `{"$t": "<type>", "v": <payload>}`:
 * `Date` (epoch ms, or null for an invalid date), `Map` ([[key, value], ...]), `Set`
 * ([value, ...]), `BigInt` (decimal string), `Uint8Array` / `Buffer` (base64), `undefined`
 * (no payload), and `Object` (a plain object that has its own `$t` key, escaped so that it
 * is not read as a tag). A plain-JSON object with its own `$sk` key at the top level is
 * enveloped too, so it is never mistaken for an envelope. The version lets a later format
 * be told apart; a version this code does not know is refused, not guessed at.
 *
 * Anything else (functions, symbols, class instances, other typed arrays, non-finite
 * numbers, cycles, more than 64 levels) is refused with `InvalidSessionValueError` when it
 * is set, never discovered later as silent data loss.
 */
import { InvalidSessionValueError } from "./errors.js";
import type { JsonValue } from "./json.js";

/** A value a session can hold. */
export type SessionValue =
  | string
  | number
  | boolean
  | null
  | undefined
  | bigint
  | Date
  | Uint8Array
  | SessionValue[]
  | ReadonlyMap<SessionValue, SessionValue>
  | ReadonlySet<SessionValue>
  | { [key: string]: SessionValue };

export const ENCODING_VERSION = 1;
const MAX_DEPTH = 64;
const SUPPORTED = "JSON values, Date, Map, Set, BigInt, Uint8Array, Buffer and undefined";

/** Throws `InvalidSessionValueError` naming `key` when `value` cannot be stored. */
export function assertSessionValue(key: string, value: unknown): void {
  try {
    if (typeof value === "object" && value !== null) encodeTree(value, 0, new Set());
    else encodeScalar(value);
  } catch (error) {
    if (error instanceof Unsupported) {
      throw new InvalidSessionValueError(`Session value for key ${JSON.stringify(key)} cannot be stored: ${error.message} (supported: ${SUPPORTED})`);
    }
    throw error;
  }
}

/**
 * The JSON form of a session value: the value itself when it is plain JSON, else its
 * envelope. Throws `InvalidSessionValueError` for a value that cannot be stored (one
 * changed in place after `set`, e.g. a function pushed into a stored array).
 */
export function encodeValue(key: string, value: unknown): JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      break;
    case "object":
      if (value === null) return null;
      if (isPlainJson(value, 0) && !hasOwn(value, "$sk")) return value as JsonValue;
      break;
  }
  try {
    const v = typeof value === "object" && value !== null ? encodeTree(value, 0, new Set()) : encodeScalar(value);
    return { $sk: ENCODING_VERSION, v };
  } catch (error) {
    if (error instanceof Unsupported) {
      throw new InvalidSessionValueError(`Session value for key ${JSON.stringify(key)} cannot be stored: ${error.message} (supported: ${SUPPORTED})`);
    }
    throw error;
  }
}

/** The session value a stored JSON value stands for (plain JSON is returned as it is). */
export function decodeValue(stored: JsonValue): SessionValue {
  if (typeof stored !== "object" || stored === null || Array.isArray(stored) || !hasOwn(stored, "$sk")) return stored;
  const version = (stored as { $sk?: unknown }).$sk;
  if (version !== ENCODING_VERSION || !hasOwn(stored, "v") || Object.keys(stored).length !== 2) {
    throw new InvalidSessionValueError(
      `A stored session value has the encoding ${JSON.stringify(version)}, which this version of sessionkit cannot read (it reads ${ENCODING_VERSION})`,
    );
  }
  return decodeTree((stored as { v: JsonValue }).v, 0);
}

class Unsupported extends Error {}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** Plain JSON all the way down (no cycle check needed: depth is bounded). */
function isPlainJson(value: object, depth: number): boolean {
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isPlainJsonItem(value[i], depth)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!hasOwn(value, key)) continue;
    if (!isPlainJsonItem((value as Record<string, unknown>)[key], depth)) return false;
  }
  return true;
}

function isPlainJsonItem(item: unknown, depth: number): boolean {
  switch (typeof item) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(item);
    case "object":
      return item === null || isPlainJson(item, depth + 1);
    default:
      return false;
  }
}

function encodeScalar(value: unknown): JsonValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      if (Number.isFinite(value)) return value;
      throw new Unsupported(`${value} is not a finite number`);
    case "bigint":
      return { $t: "BigInt", v: value.toString() };
    case "undefined":
      return { $t: "undefined" };
    default:
      throw new Unsupported(`a ${typeof value} cannot be stored`);
  }
}

function encodeItem(value: unknown, depth: number, seen: Set<object>): JsonValue {
  return typeof value === "object" && value !== null ? encodeTree(value, depth + 1, seen) : value === null ? null : encodeScalar(value);
}

function encodeTree(obj: object, depth: number, seen: Set<object>): JsonValue {
  if (depth >= MAX_DEPTH) throw new Unsupported(`nested deeper than ${MAX_DEPTH} levels`);
  if (seen.has(obj)) throw new Unsupported("it contains a cycle");
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      const out: JsonValue[] = new Array<JsonValue>(obj.length);
      for (let i = 0; i < obj.length; i++) out[i] = encodeItem(obj[i], depth, seen);
      return out;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
      for (const key of Object.keys(obj)) out[key] = encodeItem((obj as Record<string, unknown>)[key], depth, seen);
      return hasOwn(obj, "$t") ? { $t: "Object", v: out } : out;
    }
    if (obj instanceof Date && proto === Date.prototype) {
      const ms = obj.getTime();
      return { $t: "Date", v: Number.isNaN(ms) ? null : ms };
    }
    if (obj instanceof Map && proto === Map.prototype) {
      const entries: JsonValue[] = [];
      for (const [k, v] of obj) entries.push([encodeItem(k, depth, seen), encodeItem(v, depth, seen)]);
      return { $t: "Map", v: entries };
    }
    if (obj instanceof Set && proto === Set.prototype) {
      const items: JsonValue[] = [];
      for (const v of obj) items.push(encodeItem(v, depth, seen));
      return { $t: "Set", v: items };
    }
    if (Buffer.isBuffer(obj)) return { $t: "Buffer", v: obj.toString("base64") };
    if (obj instanceof Uint8Array && proto === Uint8Array.prototype) {
      return { $t: "Uint8Array", v: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString("base64") };
    }
    const name = (obj as { constructor?: { name?: unknown } }).constructor?.name;
    throw new Unsupported(`a ${typeof name === "string" && name !== "" ? name : "non-plain"} object cannot be stored`);
  } finally {
    seen.delete(obj);
  }
}

/** Ordinary objects, as `JSON.parse` makes them: a `__proto__` key is own data, never the prototype. */
function setKey(out: Record<string, SessionValue>, key: string, value: SessionValue): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function bad(what: string): never {
  throw new InvalidSessionValueError(`A stored session value is malformed: ${what}`);
}

function decodeTree(node: JsonValue, depth: number): SessionValue {
  if (typeof node !== "object" || node === null) return node;
  if (depth > MAX_DEPTH) bad("nested too deep");
  if (Array.isArray(node)) return node.map((item) => decodeTree(item, depth + 1));
  if (!hasOwn(node, "$t")) {
    const out: Record<string, SessionValue> = {};
    for (const key of Object.keys(node)) setKey(out, key, decodeTree(node[key], depth + 1));
    return out;
  }
  const v = node.v;
  switch (node.$t) {
    case "undefined":
      return undefined;
    case "Object": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) bad("an escaped object without its entries");
      const out: Record<string, SessionValue> = {};
      for (const key of Object.keys(v)) setKey(out, key, decodeTree(v[key], depth + 1));
      return out;
    }
    case "Date":
      if (v !== null && typeof v !== "number") bad("a Date without a time");
      return new Date(v === null ? NaN : v);
    case "BigInt":
      if (typeof v !== "string" || !/^-?\d+$/.test(v)) bad("a BigInt without digits");
      return BigInt(v);
    case "Map":
      if (!Array.isArray(v)) bad("a Map without entries");
      return new Map(
        v.map((pair): [SessionValue, SessionValue] => {
          if (!Array.isArray(pair) || pair.length !== 2) bad("a Map entry that is not a pair");
          return [decodeTree(pair[0], depth + 1), decodeTree(pair[1], depth + 1)];
        }),
      );
    case "Set":
      if (!Array.isArray(v)) bad("a Set without items");
      return new Set(v.map((item) => decodeTree(item, depth + 1)));
    case "Uint8Array":
    case "Buffer": {
      if (typeof v !== "string") bad("bytes without base64");
      const bytes = Buffer.from(v, "base64");
      return node.$t === "Buffer" ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
    }
    default:
      return bad(`unknown tag ${JSON.stringify(node.$t)}`);
  }
}

/**
 * JSON-safe session values. Sessions cross process boundaries (SQLite, Redis), so a value
 * that would not survive `JSON.stringify` → `JSON.parse` unchanged is refused when it is
 * set, not discovered later as silent data loss (a `Date` becoming a string, `undefined`
 * vanishing, a `Map` becoming `{}`).
 */
import { InvalidSessionValueError } from "./errors.js";

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/** A record of session values. Objects built by sessionkit have a null prototype. */
export type SessionDataRecord = Record<string, JsonValue>;

const MAX_DEPTH = 64;

/** Throws `InvalidSessionValueError` naming `key` when `value` is not plain JSON. */
export function assertJsonValue(key: string, value: unknown): asserts value is JsonValue {
  // Only objects need the cycle set; most session values are strings and numbers.
  const problem = typeof value === "object" && value !== null ? findProblem(value, 0, new Set()) : findProblem(value, 0, NO_OBJECTS);
  if (problem !== undefined) {
    throw new InvalidSessionValueError(`Session value for key ${JSON.stringify(key)} is not JSON-safe: ${problem}`);
  }
}

/** Never consulted: `findProblem` returns before touching `seen` for anything but an object. */
const NO_OBJECTS: Set<object> = new Set();

function findProblem(value: unknown, depth: number, seen: Set<object>): string | undefined {
  if (value === null) return undefined;
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${value} is not a finite number`;
    case "object":
      break;
    default:
      return `a ${typeof value} cannot be stored`;
  }
  if (depth >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
  const obj = value as object;
  if (seen.has(obj)) return "it contains a cycle";
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      for (const item of obj) {
        const p = findProblem(item, depth + 1, seen);
        if (p !== undefined) return p;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      return `a ${(obj as { constructor?: { name?: string } }).constructor?.name ?? "non-plain"} object is not plain JSON`;
    }
    for (const item of Object.values(obj)) {
      const p = findProblem(item, depth + 1, seen);
      if (p !== undefined) return p;
    }
    return undefined;
  } finally {
    seen.delete(obj);
  }
}

/** A null-prototype record, so keys like `__proto__` are plain data, never a prototype. */
export function emptyRecord(): SessionDataRecord {
  return Object.create(null) as SessionDataRecord;
}

/**
 * Parses one stored value: text that `JSON.stringify` produced (the MemoryStore's own
 * texts). `JSON.parse` defines a `__proto__` key as an own data property (it never sets
 * the prototype), so parsed values are safe to hand out as they are. The common scalars
 * skip the parser: a number goes through `Number` (whose grammar includes JSON's, with the
 * same result), a string without escapes has its quotes sliced off (`JSON.stringify`
 * escapes every `"`, `\` and control character, so what is left between unescaped quotes
 * is the string itself). Anything else goes to `JSON.parse`.
 */
export function parseStoredJson(text: string): JsonValue {
  const c = text.charCodeAt(0);
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d) return Number(text);
  if (c === 0x22 && text.indexOf("\\") === -1) return text.slice(1, -1);
  if (text === "true") return true;
  if (text === "false") return false;
  if (text === "null") return null;
  return JSON.parse(text) as JsonValue;
}

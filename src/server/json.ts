/**
 * The JSON layer under session values. Stores only ever hold JSON; values beyond it
 * (Date, Map, ...) are encoded to JSON and back in values.ts, which also refuses what
 * cannot be stored.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };

/** A record of session values. Objects built by sessionkit have a null prototype. */
export type SessionDataRecord = Record<string, JsonValue>;

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

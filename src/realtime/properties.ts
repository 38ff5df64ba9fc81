/**
 * Session properties, Diffusion style: string keys and string values. Keys starting with
 * '$' are fixed properties that only the server sets ($SessionId, $Principal, $ClientIP,
 * $StartTime, $Transport); a client that sends one is rejected, not silently corrected,
 * so a forgery attempt is visible. User keys follow Diffusion's rules: non-empty, no
 * whitespace, no quotes, no parentheses, and not starting with '$' (and, here, no
 * control characters either).
 */
import { InvalidArgumentError } from "../errors.js";
import { compileFilter, type FilterPredicate } from "./filter.js";

export type SessionProperties = Record<string, string>;

/** Set by the server only. `$HttpSession` and `$Owner` exist on sessions bound to an HTTP session (`httpSessions`). */
export const FIXED_PROPERTIES = ["$SessionId", "$Principal", "$ClientIP", "$StartTime", "$Transport", "$HttpSession", "$Owner"] as const;

// Linear: two character classes, anchored, no nesting. Control characters are out too.
const USER_KEY = /^[^$\s"'()\u0000-\u001f\u007f][^\s"'()\u0000-\u001f\u007f]*$/;
const MAX_KEY_LENGTH = 256;
const MAX_VALUE_LENGTH = 4096;
const MAX_PROPERTIES = 100;

/** Why a property map is unacceptable, or undefined when it is fine. Never echoes values. */
export function checkUserProperties(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "properties must be an object";
  const entries = Object.entries(value);
  if (entries.length > MAX_PROPERTIES) return `at most ${MAX_PROPERTIES} properties`;
  for (const [k, v] of entries) {
    if (k.startsWith("$")) return `property ${JSON.stringify(k)} is fixed and set by the server`;
    if (k.length > MAX_KEY_LENGTH || !USER_KEY.test(k)) return `property key ${JSON.stringify(k.slice(0, 64))} is not allowed`;
    if (typeof v !== "string" || v.length > MAX_VALUE_LENGTH)
      return `property ${JSON.stringify(k)} must be a string of at most ${MAX_VALUE_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Which sessions a push reaches: a filter string in Diffusion's session property filter
 * language (`"$Principal is 'alice' and not Tier is 'free'"`, see filter.ts), an object
 * (matches sessions whose properties equal every given entry), or a function.
 */
export type SessionFilter = string | SessionProperties | ((properties: Readonly<SessionProperties>) => boolean);

/**
 * Turns any SessionFilter into a predicate, checking it first: a string is compiled (and
 * cached; InvalidFilterError with code INVALID_FILTER when it does not parse), an object
 * must map keys to strings. Anything else is an InvalidArgumentError, never "match all".
 */
export function filterPredicate(filter: SessionFilter): FilterPredicate {
  if (typeof filter === "string") return compileFilter(filter);
  if (typeof filter === "function") return (p) => Boolean(filter(p));
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw new InvalidArgumentError("a session filter must be a filter string, an object of properties or a function");
  }
  const entries = Object.entries(filter);
  for (const [k, v] of entries) {
    if (typeof v !== "string") throw new InvalidArgumentError(`session filter entry ${JSON.stringify(k.slice(0, 64))} must be a string`);
  }
  return (p) => {
    for (const [k, v] of entries) if (!hasOwn.call(p, k) || p[k] !== v) return false;
    return true;
  };
}

const hasOwn = Object.prototype.hasOwnProperty;

export function matchesFilter(filter: SessionFilter, properties: Readonly<SessionProperties>): boolean {
  return filterPredicate(filter)(properties);
}

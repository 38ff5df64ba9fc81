/**
 * Session properties, Diffusion style: string keys and string values. Keys starting with
 * '$' are fixed properties that only the server sets ($SessionId, $Principal, $ClientIP,
 * $StartTime, $Transport); a client that sends one is rejected, not silently corrected,
 * so a forgery attempt is visible. User keys follow Diffusion's rules: non-empty, no
 * whitespace, no quotes, no parentheses, and not starting with '$'.
 */
export type SessionProperties = Record<string, string>;

export const FIXED_PROPERTIES = ["$SessionId", "$Principal", "$ClientIP", "$StartTime", "$Transport"] as const;

const USER_KEY = /^[^$\s"'()][^\s"'()]*$/;
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
    if (typeof v !== "string" || v.length > MAX_VALUE_LENGTH) return `property ${JSON.stringify(k)} must be a string of at most ${MAX_VALUE_LENGTH} characters`;
  }
  return undefined;
}

/**
 * Which sessions a push reaches. An object matches sessions whose properties equal every
 * given entry; a function decides itself. (Diffusion's filter query language is not
 * implemented; these two forms cover equality and anything else in plain TypeScript.)
 */
export type SessionFilter = SessionProperties | ((properties: Readonly<SessionProperties>) => boolean);

export function matchesFilter(filter: SessionFilter, properties: Readonly<SessionProperties>): boolean {
  if (typeof filter === "function") return filter(properties);
  for (const [k, v] of Object.entries(filter)) if (properties[k] !== v) return false;
  return true;
}

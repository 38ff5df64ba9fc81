/**
 * Strict-Transport-Security parsing, RFC 6797 §6.1:
 *   directive *( ";" [ directive ] ),  directive = name [ "=" ( token / quoted-string ) ]
 * Directive names are case-insensitive; a header that repeats a directive, lacks max-age,
 * has a malformed max-age, gives includeSubDomains a value, or is otherwise not valid
 * syntax is ignored as a whole (§6.1 "UAs MUST ignore … header fields that do not conform").
 * Unknown directives are skipped (§6.1 extensibility). The scanner is a single linear pass
 * with no regex backtracking, so hostile input costs O(length).
 */

export interface StsDirectives {
  /** Seconds; 0 means "forget this host" (§6.1.1). Clamped to MAX_STS_AGE. */
  maxAge: number;
  includeSubDomains: boolean;
}

/** Longer headers are ignored without parsing. */
export const MAX_STS_HEADER_LENGTH = 4096;
/** max-age is clamped to one year, as Chromium does, so one response cannot pin a host forever. */
export const MAX_STS_AGE = 365 * 24 * 60 * 60;

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

function isTchar(ch: string): boolean {
  return TCHAR.test(ch);
}

function skipOws(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  return i;
}

/** Returns the directives, or null when the header must be ignored. Never throws. */
export function parseStsHeader(value: string | null | undefined): StsDirectives | null {
  if (typeof value !== "string" || value.length > MAX_STS_HEADER_LENGTH) return null;
  const s = value;
  const seen = new Set<string>();
  let maxAge: number | null = null;
  let includeSubDomains = false;
  let i = 0;
  for (;;) {
    i = skipOws(s, i);
    if (i >= s.length) break;
    if (s[i] === ";") {
      i++; // empty directive: allowed by the grammar
      continue;
    }
    const nameStart = i;
    while (i < s.length && isTchar(s[i])) i++;
    if (i === nameStart) return null;
    const name = s.slice(nameStart, i).toLowerCase();
    if (seen.has(name)) return null;
    seen.add(name);
    i = skipOws(s, i);
    let dvalue: string | null = null;
    if (s[i] === "=") {
      i = skipOws(s, i + 1);
      if (s[i] === '"') {
        let out = "";
        i++;
        let closed = false;
        while (i < s.length) {
          const ch = s[i];
          if (ch === "\\") {
            if (i + 1 >= s.length) return null;
            out += s[i + 1];
            i += 2;
          } else if (ch === '"') {
            closed = true;
            i++;
            break;
          } else {
            out += ch;
            i++;
          }
        }
        if (!closed) return null;
        dvalue = out;
      } else {
        const vStart = i;
        while (i < s.length && isTchar(s[i])) i++;
        if (i === vStart) return null;
        dvalue = s.slice(vStart, i);
      }
      i = skipOws(s, i);
    }
    if (i < s.length && s[i] !== ";") return null;
    if (name === "max-age") {
      if (dvalue === null || !/^\d+$/.test(dvalue)) return null;
      // Long digit strings are valid but absurd: clamp instead of overflowing.
      maxAge = dvalue.length > 12 ? MAX_STS_AGE : Math.min(Number(dvalue), MAX_STS_AGE);
    } else if (name === "includesubdomains") {
      if (dvalue !== null) return null;
      includeSubDomains = true;
    }
  }
  if (maxAge === null) return null;
  return { maxAge, includeSubDomains };
}

/**
 * WHATWG MIME Sniffing §4 "parse a MIME type" and Fetch's "extract a MIME type", plus the
 * type predicates the sniffing algorithm needs. Kept apart from the sniffing tables because
 * the parser is also what the ContentSniffer uses to read the supplied Content-Type.
 */

export interface ParsedMimeType {
  /** Lower-case "type/subtype". */
  essence: string;
  type: string;
  subtype: string;
  /** Parameter names lower-case; values as sent (case kept). */
  params: Record<string, string>;
}

// HTTP token code points (RFC 9110 tchar).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// HTTP quoted-string token code points: tab, 0x20-0x7E, 0x80-0xFF.
const QUOTED_OK = /^[\t\x20-\x7e\x80-\xff]*$/;

// Every scan below is an index loop, never a regular expression anchored at the end of a
// whitespace run: `/[\t\n\r ]+$/` restarts at each position of a run that is not at the
// end, so `text/html` + 100 KB of spaces + `x` took 17-39 s (issue 12). Each function here
// looks at each character a bounded number of times.

function isHttpWs(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

function isTabOrSpace(c: string): boolean {
  return c === " " || c === "\t";
}

/** `s[start, end)` without leading and trailing characters matching `ws`. */
function trimmed(s: string, start: number, end: number, ws: (c: string) => boolean): string {
  while (start < end && ws(s[start])) start++;
  while (end > start && ws(s[end - 1])) end--;
  return s.slice(start, end);
}

/** WHATWG "parse a MIME type". Returns null on failure (never throws). Linear time. */
export function parseMimeType(input: string): ParsedMimeType | null {
  const s = trimmed(input, 0, input.length, isHttpWs);
  let pos = 0;
  const slash = s.indexOf("/");
  if (slash === -1) return null;
  const type = s.slice(0, slash);
  if (type === "" || !TOKEN.test(type)) return null;
  pos = slash + 1;
  let semi = s.indexOf(";", pos);
  if (semi === -1) semi = s.length;
  const subtype = trimmed(s, pos, semi, isHttpWs);
  if (subtype === "" || !TOKEN.test(subtype)) return null;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  pos = semi;
  while (pos < s.length) {
    pos++; // skip ";"
    while (pos < s.length && isHttpWs(s[pos])) pos++;
    let end = pos;
    while (end < s.length && s[end] !== ";" && s[end] !== "=") end++;
    const name = s.slice(pos, end).toLowerCase();
    pos = end;
    if (pos < s.length) {
      if (s[pos] === ";") continue;
      pos++; // skip "="
    }
    if (pos >= s.length) break;
    let value: string;
    if (s[pos] === '"') {
      // Collect an HTTP quoted string (extract-value), then skip to the next ";". Runs
      // between escapes are sliced, not appended one character at a time.
      pos++;
      const parts: string[] = [];
      let runStart = pos;
      while (pos < s.length) {
        const c = s[pos];
        if (c === "\\") {
          parts.push(s.slice(runStart, pos));
          pos++;
          if (pos >= s.length) {
            parts.push("\\");
            runStart = pos;
            break;
          }
          runStart = pos; // the escaped character starts the next run
          pos++;
        } else if (c === '"') {
          break;
        } else {
          pos++;
        }
      }
      parts.push(s.slice(runStart, pos));
      if (pos < s.length) pos++; // the closing quote
      value = parts.join("");
      while (pos < s.length && s[pos] !== ";") pos++;
    } else {
      let vEnd = s.indexOf(";", pos);
      if (vEnd === -1) vEnd = s.length;
      let e = vEnd; // trailing HTTP whitespace only: a leading run is part of the value
      while (e > pos && isHttpWs(s[e - 1])) e--;
      value = s.slice(pos, e);
      pos = vEnd;
      if (value === "") continue;
    }
    if (name !== "" && TOKEN.test(name) && QUOTED_OK.test(value) && !(name in params)) params[name] = value;
  }
  const lowerType = type.toLowerCase();
  const lowerSub = subtype.toLowerCase();
  return { essence: `${lowerType}/${lowerSub}`, type: lowerType, subtype: lowerSub, params };
}

/** Splits a header value on commas that are not inside a quoted string (Fetch "get, decode, and split"). Linear time. */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      out.push(trimmed(value, start, i, isTabOrSpace));
      start = i + 1;
    }
  }
  out.push(trimmed(value, start, value.length, isTabOrSpace));
  return out;
}

/**
 * Fetch's "extract a MIME type" from a combined Content-Type value: the last valid type
 * wins, and a charset from an earlier value with the same essence is carried over.
 */
export function extractMimeType(headerValue: string | null): ParsedMimeType | null {
  if (headerValue === null) return null;
  let charset: string | null = null;
  let essence: string | null = null;
  let result: ParsedMimeType | null = null;
  for (const value of splitHeaderValues(headerValue)) {
    const t = parseMimeType(value);
    if (t === null || t.essence === "*/*") continue;
    result = t;
    if (t.essence !== essence) {
      charset = t.params.charset ?? null;
      essence = t.essence;
    } else if (!("charset" in t.params) && charset !== null) {
      t.params.charset = charset;
    }
  }
  return result;
}

/** Serializes a parsed MIME type back to a header value (params quoted when needed). */
export function serializeMimeType(t: { essence: string; params: Record<string, string> }): string {
  let out = t.essence;
  for (const [k, v] of Object.entries(t.params)) {
    out += `;${k}=${v !== "" && TOKEN.test(v) ? v : `"${v.replace(/(["\\])/g, "\\$1")}"`}`;
  }
  return out;
}

export function isXmlMimeType(t: ParsedMimeType): boolean {
  return t.subtype.endsWith("+xml") || t.essence === "text/xml" || t.essence === "application/xml";
}

export function isHtmlMimeType(t: ParsedMimeType): boolean {
  return t.essence === "text/html";
}

export function isImageMimeType(t: ParsedMimeType): boolean {
  return t.type === "image";
}

export function isAudioOrVideoMimeType(t: ParsedMimeType): boolean {
  return t.type === "audio" || t.type === "video" || t.essence === "application/ogg";
}

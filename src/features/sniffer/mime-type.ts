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
const HTTP_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function isHttpWs(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r";
}

/** WHATWG "parse a MIME type". Returns null on failure (never throws). */
export function parseMimeType(input: string): ParsedMimeType | null {
  const s = input.replace(HTTP_WS, "");
  let pos = 0;
  let slash = s.indexOf("/");
  if (slash === -1) return null;
  const type = s.slice(0, slash);
  if (type === "" || !TOKEN.test(type)) return null;
  pos = slash + 1;
  let semi = s.indexOf(";", pos);
  if (semi === -1) semi = s.length;
  const subtype = s.slice(pos, semi).replace(/[\t\n\r ]+$/, "");
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
      // Collect an HTTP quoted string (extract-value), then skip to the next ";".
      pos++;
      value = "";
      while (pos < s.length) {
        const c = s[pos];
        if (c === "\\") {
          pos++;
          if (pos >= s.length) {
            value += "\\";
            break;
          }
          value += s[pos++];
        } else if (c === '"') {
          pos++;
          break;
        } else {
          value += c;
          pos++;
        }
      }
      while (pos < s.length && s[pos] !== ";") pos++;
    } else {
      let vEnd = s.indexOf(";", pos);
      if (vEnd === -1) vEnd = s.length;
      value = s.slice(pos, vEnd).replace(/[\t\n\r ]+$/, "");
      pos = vEnd;
      if (value === "") continue;
    }
    if (name !== "" && TOKEN.test(name) && QUOTED_OK.test(value) && !(name in params)) params[name] = value;
  }
  const lowerType = type.toLowerCase();
  const lowerSub = subtype.toLowerCase();
  return { essence: `${lowerType}/${lowerSub}`, type: lowerType, subtype: lowerSub, params };
}

/** Splits a header value on commas that are not inside a quoted string (Fetch "get, decode, and split"). */
export function splitHeaderValues(value: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      cur += c;
      if (c === "\\" && i + 1 < value.length) cur += value[++i];
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
      cur += c;
    } else if (c === ",") {
      out.push(cur.replace(/^[\t ]+|[\t ]+$/g, ""));
      cur = "";
    } else cur += c;
  }
  out.push(cur.replace(/^[\t ]+|[\t ]+$/g, ""));
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

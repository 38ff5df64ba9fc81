/**
 * Parsers for the authentication headers of RFC 9110 §11: `WWW-Authenticate` and
 * `Proxy-Authenticate` (a list of challenges, each a scheme with a token68 or auth-params,
 * where commas separate both challenges and parameters), and `Authentication-Info` /
 * `Proxy-Authentication-Info` (a bare auth-param list). Extended parameters (`name*`) are
 * decoded per RFC 8187.
 *
 * The input comes from the network, so the parser is total: it never throws, every loop
 * iteration consumes at least one character, and the output is capped (challenges per
 * header, parameters per challenge, header length), so hostile input cannot make it loop
 * or grow memory without bound. Malformed pieces are skipped, not guessed at.
 */

export interface AuthChallenge {
  /** The scheme as sent (compare case-insensitively; `schemeLower` is provided for that). */
  scheme: string;
  schemeLower: string;
  /** Parameters by lower-cased name. An RFC 8187 `name*` value is decoded into `name`. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), or null when the challenge used parameters. */
  token68: string | null;
}

/** Headers longer than this are cut (real challenges are a few hundred bytes). */
export const MAX_HEADER_LENGTH = 16 * 1024;
export const MAX_CHALLENGES = 32;
export const MAX_PARAMS = 64;

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const T68CHAR = /[A-Za-z0-9\-._~+/]/;

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? "";
  }
  ws(): void {
    while (this.pos < this.s.length && (this.s[this.pos] === " " || this.s[this.pos] === "\t")) this.pos++;
  }
  /** Skips whitespace and empty list elements (RFC 9110 §5.6.1 allows `, ,`). */
  wsAndCommas(): void {
    while (this.pos < this.s.length && /[ \t,]/.test(this.s[this.pos])) this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (this.pos < this.s.length && TCHAR.test(this.s[this.pos])) this.pos++;
    return this.s.slice(start, this.pos);
  }
  /** A quoted-string with `\` escapes; an unterminated one runs to the end. */
  quoted(): string {
    this.pos++; // opening quote
    let out = "";
    while (this.pos < this.s.length) {
      const c = this.s[this.pos++];
      if (c === '"') return out;
      if (c === "\\" && this.pos < this.s.length) out += this.s[this.pos++];
      else out += c;
    }
    return out;
  }
  /** Skips to the next top-level comma (respecting quotes), for recovery after garbage. */
  skipElement(): void {
    while (this.pos < this.s.length && this.s[this.pos] !== ",") {
      if (this.s[this.pos] === '"') this.quoted();
      else this.pos++;
    }
  }
}

/** RFC 8187 ext-value: `charset'[language]'pct-encoded`. Null when malformed or not UTF-8/Latin-1. */
export function decodeExtValue(value: string): string | null {
  const m = /^([A-Za-z0-9!#$%&+\-^_`{}~]+)'[A-Za-z0-9-]*'(.*)$/.exec(value);
  if (m === null) return null;
  const charset = m[1].toLowerCase();
  const encoded = m[2];
  if (!/^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-Fa-f]{2})*$/.test(encoded)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    if (encoded[i] === "%") {
      bytes.push(parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(encoded.charCodeAt(i));
  }
  if (charset === "utf-8") {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      return null;
    }
  }
  if (charset === "iso-8859-1") return String.fromCharCode(...bytes);
  return null;
}

/** RFC 8187 encoding of a value as `UTF-8''…` (for `username*`). */
export function encodeExtValue(value: string): string {
  let out = "UTF-8''";
  for (const b of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Reads `name = value` pairs until the next element that is not a parameter (the start of
 * another challenge) or the end. `stopAtScheme` is false for Authentication-Info, which
 * has parameters only.
 */
function readParams(c: Cursor, params: Record<string, string>, stopAtScheme: boolean): void {
  let count = 0;
  const ext: Record<string, string> = {};
  while (!c.done) {
    c.wsAndCommas();
    if (c.done) break;
    const start = c.pos;
    const name = c.token();
    if (name === "") {
      // Not a token: garbage. Skip the element and carry on. After wsAndCommas the current
      // character is not a comma, so skipElement always consumes input (quotes included).
      c.skipElement();
      continue;
    }
    c.ws();
    if (c.peek() !== "=") {
      if (stopAtScheme) {
        c.pos = start; // a new challenge begins here
        break;
      }
      c.skipElement();
      continue;
    }
    c.pos++; // '='
    c.ws();
    const value = c.peek() === '"' ? c.quoted() : c.token();
    c.ws();
    if (!c.done && c.peek() !== ",") c.skipElement(); // junk after the value: drop it
    if (++count > MAX_PARAMS) continue;
    const key = name.toLowerCase();
    if (key.endsWith("*") && key.length > 1) {
      const decoded = decodeExtValue(value);
      if (decoded !== null && !(key.slice(0, -1) in ext)) ext[key.slice(0, -1)] = decoded;
    } else if (!Object.hasOwn(params, key)) {
      params[key] = value; // RFC 9110: a parameter occurs once; the first one wins
    }
  }
  // RFC 8187 §4.2: when both forms are present the extended one is preferred.
  for (const k of Object.keys(ext)) params[k] = ext[k];
}

/** Parses one `WWW-Authenticate`/`Proxy-Authenticate` field value into its challenges. */
export function parseChallenges(header: string, out: AuthChallenge[] = []): AuthChallenge[] {
  const c = new Cursor(String(header).slice(0, MAX_HEADER_LENGTH));
  while (!c.done && out.length < MAX_CHALLENGES) {
    c.wsAndCommas();
    if (c.done) break;
    const scheme = c.token();
    if (scheme === "") {
      c.skipElement(); // consumes at least one character (see readParams)
      continue;
    }
    const ch: AuthChallenge = { scheme, schemeLower: scheme.toLowerCase(), params: Object.create(null), token68: null };
    out.push(ch);
    if (c.peek() !== " " && c.peek() !== "\t") {
      // `Basic,` or end: a challenge without parameters; anything else glued to the scheme is junk.
      c.skipElement();
      continue;
    }
    c.ws();
    // token68: 1*t68char *"=" followed by the end or a comma.
    const mark = c.pos;
    while (!c.done && T68CHAR.test(c.peek())) c.pos++;
    if (c.pos > mark) {
      while (c.peek() === "=") c.pos++;
      const candidate = c.s.slice(mark, c.pos);
      c.ws();
      // `realm=` with no value is not an auth-param (a value has at least one character), so
      // anything that ends at a comma or the end is the token68 form.
      if (c.done || c.peek() === ",") {
        ch.token68 = candidate;
        continue;
      }
    }
    c.pos = mark;
    readParams(c, ch.params, true);
  }
  return out;
}

/** Parses every value of a challenge header (several header lines are one list). */
export function parseChallengeHeaders(values: readonly string[]): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  for (const v of values) {
    if (out.length >= MAX_CHALLENGES) break;
    parseChallenges(v, out);
  }
  return out;
}

/** Parses `Authentication-Info` (RFC 9110 §11.6.3): a list of auth-params, no scheme. */
export function parseAuthParams(header: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  readParams(new Cursor(String(header).slice(0, MAX_HEADER_LENGTH)), params, false);
  return params;
}

/** Quotes a value as an RFC 9110 quoted-string. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}

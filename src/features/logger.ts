/**
 * Logger (libsoup's SoupLogger): prints requests and responses at NONE / MINIMAL / HEADERS
 * / BODY detail in libsoup's "> request" / "< response" format. Credentials are always
 * redacted: Authorization and Proxy-Authorization keep only their scheme, Cookie and
 * Set-Cookie keep only cookie names, (Proxy-)Authentication-Info keeps only parameter
 * names (Digest rspauth / nextnonce), the values of custom credential headers
 * (`secretHeaders`: X-Api-Key, X-Auth-Token, Api-Key, … by default) are hidden, URL userinfo
 * and secret-looking query parameters (access_token=…, api_key=…) are hidden by the same
 * redaction `String(msg)` and `util.inspect(msg)` use (http/redact.ts), and in bodies the values of
 * JSON and form fields whose names look secret (password, token, jwt, secret, key, session)
 * are replaced. A message marked `sensitiveBody` never has its body printed at all.
 */
import { PassThrough, type Readable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import { FeatureOrder, type SessionFeature } from "../http/feature.js";
import type { MessageHeaders } from "../http/headers.js";
import type { Message } from "../http/message.js";
import { SECRET_FIELD, decodeSafe, redactTarget } from "../http/redact.js";

export { redactQuery } from "../http/redact.js";

/**
 * Headers that carry a credential as their whole value, printed as `[REDACTED]` (besides
 * Authorization, Proxy-Authorization, Cookie, Set-Cookie and Authentication-Info, which
 * are always redacted and keep their structure). Compared case-insensitively.
 */
export const DEFAULT_SECRET_HEADERS: readonly string[] = Object.freeze([
  "X-Api-Key",
  "Api-Key",
  "X-Apikey",
  "Apikey",
  "X-Auth-Token",
  "X-Access-Token",
  "X-Refresh-Token",
  "X-Session-Token",
  "X-Session-Id",
  "X-CSRF-Token",
  "X-XSRF-Token",
  "X-Amz-Security-Token",
  "X-Goog-Api-Key",
  "X-Vault-Token",
  "Private-Token",
  "Ocp-Apim-Subscription-Key",
  "X-Functions-Key",
  "X-Hub-Signature",
  "X-Hub-Signature-256",
  "Proxy-Authorization-Token",
]);

const DEFAULT_SECRET_SET: ReadonlySet<string> = new Set(DEFAULT_SECRET_HEADERS.map((h) => h.toLowerCase()));

export const LoggerLogLevel = { NONE: 0, MINIMAL: 1, HEADERS: 2, BODY: 3 } as const;
export type LoggerLogLevelValue = (typeof LoggerLogLevel)[keyof typeof LoggerLogLevel];

/** `direction` is ">" for the request, "<" for the response, as in libsoup. */
export type LoggerPrinter = (level: LoggerLogLevelValue, direction: ">" | "<", line: string) => void;
export type LoggerFilter = (msg: Message) => LoggerLogLevelValue;

export interface LoggerOptions {
  /** @default LoggerLogLevel.MINIMAL */
  level?: LoggerLogLevelValue;
  /** Bytes of a body to print at BODY level (-1: no limit). @default 4096 */
  maxBodySize?: number;
  requestFilter?: LoggerFilter | null;
  responseFilter?: LoggerFilter | null;
  /** Where lines go. @default one `console.error` per line */
  printer?: LoggerPrinter | null;
  /**
   * Names of headers whose whole value is a secret, printed as `[REDACTED]`. Replaces the
   * default list; extend it with `[...DEFAULT_SECRET_HEADERS, "X-My-Key"]`.
   * @default DEFAULT_SECRET_HEADERS
   */
  secretHeaders?: readonly string[];
}

/**
 * The value of header `name` as the Logger prints it. `secretHeaders` is a set of
 * lower-case names whose whole value is hidden (default: DEFAULT_SECRET_HEADERS).
 */
export function redactHeaderValue(name: string, value: string, secretHeaders: ReadonlySet<string> = DEFAULT_SECRET_SET): string {
  const n = name.toLowerCase();
  if (secretHeaders.has(n)) return "[REDACTED]";
  if (n === "authorization" || n === "proxy-authorization") {
    // Only a scheme followed by credentials is a scheme; a lone word may be a bare token.
    const scheme = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s+\S/.exec(value)?.[1];
    return scheme ? `${scheme} [REDACTED]` : "[REDACTED]";
  }
  if (n === "cookie") {
    // Empty pairs (`;;`) are left out: a run of separators must not print as a run of pairs.
    return value
      .split(";")
      .filter((p) => p.trim() !== "")
      .map((p) => `${cookieName(p)}=[REDACTED]`)
      .join("; ");
  }
  if (n === "authentication-info" || n === "proxy-authentication-info") {
    // Digest's rspauth / nextnonce / cnonce: keep the parameter names, hide every value.
    return redactParamList(value);
  }
  if (n === "set-cookie") {
    const [pair, ...attrs] = value.split(";");
    const kept = attrs.map((a) => a.trim()).filter((a) => a !== "");
    return [`${cookieName(pair)}=[REDACTED]`, ...kept].join("; ");
  }
  return value;
}

/** The trimmed name of a `name=value` pair (the whole pair when it has no `=`), without splitting the value. */
function cookieName(pair: string): string {
  const eq = pair.indexOf("=");
  return (eq === -1 ? pair : pair.slice(0, eq)).trim();
}

/**
 * `a=1, b="x, y"` → `a=[REDACTED], b=[REDACTED]`: only well-formed parameter names survive;
 * anything that does not parse as `token=value` is dropped, never printed.
 */
function redactParamList(value: string): string {
  const names: string[] = [];
  const re = /\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^",\s]*)\s*(?:,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) names.push(`${m[1]}=[REDACTED]`);
  if (re.lastIndex < value.length || names.length === 0) names.push("[REDACTED]");
  return names.join(", ");
}

/** Replaces secret-looking values in JSON or form bodies (best effort, never throws). */
export function redactBody(text: string, contentType: string | null): string {
  const ct = (contentType ?? "").toLowerCase();
  try {
    if (ct.includes("json") || /^\s*[{[]/.test(text)) {
      const walk = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(walk);
        if (v && typeof v === "object") {
          const out: Record<string, unknown> = {};
          for (const [k, val] of Object.entries(v)) out[k] = SECRET_FIELD.test(k) ? "[REDACTED]" : walk(val);
          return out;
        }
        return v;
      };
      return JSON.stringify(walk(JSON.parse(text)));
    }
  } catch {
    /* not valid JSON (perhaps truncated): fall through to the pattern rules */
  }
  if (ct.includes("x-www-form-urlencoded") || /^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(text.trim())) {
    return text
      .split("&")
      .map((p) => {
        const k = decodeSafe(p.split("=")[0]);
        // astrometry-style `request-json={...}` carries JSON inside a form field.
        if (/json/i.test(k)) return `${p.split("=")[0]}=${encodeSafe(redactBody(decodeSafe(p.slice(p.indexOf("=") + 1)), "application/json"))}`;
        return SECRET_FIELD.test(k) ? `${p.split("=")[0]}=[REDACTED]` : p;
      })
      .join("&");
  }
  return redactUnstructured(text);
}

/** `encodeURIComponent`, or the whole value hidden when it cannot be encoded (a lone surrogate). */
function encodeSafe(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return "[REDACTED]";
  }
}

const SECRET_WORD = /pass(?:word)?|token|jwt|secret|api[-_]?key|session/i;

function isWordChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45; // A-Z a-z _ -
}

function isSpaceChar(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Unstructured text: hides the value in anything shaped like `"secretName": "value"` or
 * `secretName=value`. A hand-written scan, one pass: the regular expression it replaces
 * (`[A-Za-z_-]*(?:token|…)[A-Za-z_-]*"?\s*[:=]…`) restarted inside every run of letters
 * and took 1.4 s on 20 KB of them (issue 12).
 */
function redactUnstructured(text: string): string {
  const n = text.length;
  let out = "";
  let copied = 0;
  let quoteSearchFrom = -1; // after a failed search for a closing quote, none exists past it
  let i = 0;
  while (i < n) {
    if (!isWordChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && isWordChar(text.charCodeAt(j))) j++;
    let k = j;
    if (text.charCodeAt(k) === 34) k++; // the closing quote of a "quoted" name
    while (k < n && isSpaceChar(text.charCodeAt(k))) k++;
    const sep = text.charCodeAt(k);
    if ((sep === 58 || sep === 61) && SECRET_WORD.test(text.slice(i, j))) {
      k++;
      while (k < n && isSpaceChar(text.charCodeAt(k))) k++;
      let end = k;
      if (text.charCodeAt(k) === 34 && quoteSearchFrom === -1) {
        const close = text.indexOf('"', k + 1);
        if (close === -1) quoteSearchFrom = k;
        else end = close + 1;
      }
      if (end === k) {
        // Unquoted (or an unclosed quote): up to whitespace, a comma, & or }.
        while (end < n) {
          const c = text.charCodeAt(end);
          if (isSpaceChar(c) || c === 44 || c === 38 || c === 125) break;
          end++;
        }
      }
      if (end > k) {
        out += `${text.slice(copied, k)}[REDACTED]`;
        copied = end;
        i = end;
        continue;
      }
    }
    i = j;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

export class Logger implements SessionFeature {
  readonly order = FeatureOrder.LOGGER;
  level: LoggerLogLevelValue;
  maxBodySize: number;
  requestFilter: LoggerFilter | null;
  responseFilter: LoggerFilter | null;
  printer: LoggerPrinter;
  /** Lower-case names of the headers printed as `[REDACTED]` (see LoggerOptions.secretHeaders). */
  readonly secretHeaders: ReadonlySet<string>;
  #ids = new WeakMap<Message, number>();
  #next = 1;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? LoggerLogLevel.MINIMAL;
    if (![0, 1, 2, 3].includes(this.level)) throw new InvalidArgumentError("Logger level must be a LoggerLogLevel value");
    this.maxBodySize = options.maxBodySize ?? 4096;
    this.requestFilter = options.requestFilter ?? null;
    this.responseFilter = options.responseFilter ?? null;
    this.printer = options.printer ?? ((_l, dir, line) => console.error(`${dir} ${line}`));
    const secret = options.secretHeaders ?? DEFAULT_SECRET_HEADERS;
    if (!Array.isArray(secret) || !secret.every((h) => typeof h === "string")) {
      throw new InvalidArgumentError("Logger secretHeaders must be an array of header names");
    }
    this.secretHeaders = new Set(secret.map((h) => h.toLowerCase()));
  }

  #id(msg: Message): number {
    let id = this.#ids.get(msg);
    if (id === undefined) this.#ids.set(msg, (id = this.#next++));
    return id;
  }

  #print(level: LoggerLogLevelValue, dir: ">" | "<", line: string): void {
    try {
      this.printer(level, dir, line);
    } catch {
      /* a broken printer must not break requests */
    }
  }

  #headers(level: LoggerLogLevelValue, dir: ">" | "<", headers: MessageHeaders): void {
    for (const [name, value] of headers) this.#print(level, dir, `${name}: ${redactHeaderValue(name, value, this.secretHeaders)}`);
  }

  beforeSend(msg: Message): void {
    const level = this.requestFilter ? this.requestFilter(msg) : this.level;
    if (level === LoggerLogLevel.NONE) return;
    const url = msg.url;
    // The same redaction as String(msg) and util.inspect(msg) (http/redact.ts).
    this.#print(level, ">", `${msg.method} ${redactTarget(url)} HTTP/${msg.httpVersion}`);
    this.#print(
      level,
      ">",
      `Sessionkit-Debug: message ${this.#id(msg)} to ${url.host}${msg.restartCount > 0 ? ` (restart ${msg.restartCount})` : ""}`,
    );
    if (level < LoggerLogLevel.HEADERS) return;
    this.#print(level, ">", `Host: ${url.host}`);
    this.#headers(level, ">", msg.requestHeaders);
    if (level < LoggerLogLevel.BODY) return;
    const body = msg.requestBody;
    if (body === null) return;
    if (typeof body !== "string" && !(body instanceof Uint8Array)) {
      this.#print(level, ">", "[streamed body not logged]");
      return;
    }
    this.#printBody(level, ">", msg, typeof body === "string" ? Buffer.from(body) : Buffer.from(body), msg.requestHeaders.get("Content-Type"));
  }

  gotHeaders(msg: Message): void {
    const level = this.responseFilter ? this.responseFilter(msg) : this.level;
    if (level === LoggerLogLevel.NONE) return;
    this.#print(level, "<", `HTTP/${msg.httpVersion} ${msg.status} ${msg.reasonPhrase}`.trimEnd());
    this.#print(level, "<", `Sessionkit-Debug: message ${this.#id(msg)}${msg.fromCache ? " (from cache)" : ""}`);
    if (level >= LoggerLogLevel.HEADERS) this.#headers(level, "<", msg.responseHeaders);
  }

  wrapBody(msg: Message, body: Readable): Readable {
    const level = this.responseFilter ? this.responseFilter(msg) : this.level;
    if (level < LoggerLogLevel.BODY) return body;
    const cap = this.maxBodySize < 0 ? Infinity : this.maxBodySize;
    const seen: Buffer[] = [];
    let size = 0;
    let total = 0;
    const tap = new PassThrough({
      transform: (chunk: Buffer, _e, cb) => {
        total += chunk.length;
        if (size < cap) {
          const part = chunk.subarray(0, Math.min(chunk.length, cap - size));
          seen.push(part);
          size += part.length;
        }
        cb(null, chunk);
      },
      flush: (cb) => {
        this.#printBody(level, "<", msg, Buffer.concat(seen), msg.responseHeaders.get("Content-Type"), total);
        cb();
      },
    });
    body.on("error", (err) => tap.destroy(err));
    tap.on("close", () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
    });
    return body.pipe(tap);
  }

  #printBody(level: LoggerLogLevelValue, dir: ">" | "<", msg: Message, bytes: Buffer, contentType: string | null, total = bytes.length): void {
    if (msg.sensitiveBody) {
      this.#print(level, dir, `[body of ${total} bytes redacted: message marked sensitive]`);
      return;
    }
    const printable = bytes.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127) || b >= 128);
    if (!printable) {
      this.#print(level, dir, `[binary body, ${total} bytes]`);
      return;
    }
    const text = redactBody(bytes.toString("utf8"), contentType);
    for (const line of text.split("\n")) this.#print(level, dir, line);
    if (total > bytes.length) this.#print(level, dir, `[… ${total - bytes.length} more bytes]`);
  }
}

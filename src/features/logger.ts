/**
 * Logger (libsoup's SoupLogger): prints requests and responses at NONE / MINIMAL / HEADERS
 * / BODY detail in libsoup's "> request" / "< response" format. Credentials are always
 * redacted: Authorization and Proxy-Authorization keep only their scheme, Cookie and
 * Set-Cookie keep only cookie names, (Proxy-)Authentication-Info keeps only parameter
 * names (Digest rspauth / nextnonce), URL userinfo and secret-looking query parameters
 * (access_token=…, api_key=…) are hidden, and in bodies the values of
 * JSON and form fields whose names look secret (password, token, jwt, secret, key, session)
 * are replaced. A message marked `sensitiveBody` never has its body printed at all.
 */
import { PassThrough, type Readable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import { FeatureOrder, type SessionFeature } from "../http/feature.js";
import type { MessageHeaders } from "../http/headers.js";
import { redactUrl, type Message } from "../http/message.js";

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
}

const SECRET_FIELD = /pass(word)?|token|jwt|secret|api[-_]?key|apikey|session|credential|auth/i;

export function redactHeaderValue(name: string, value: string): string {
  const n = name.toLowerCase();
  if (n === "authorization" || n === "proxy-authorization") {
    // Only a scheme followed by credentials is a scheme; a lone word may be a bare token.
    const scheme = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s+\S/.exec(value)?.[1];
    return scheme ? `${scheme} [REDACTED]` : "[REDACTED]";
  }
  if (n === "cookie") {
    return value
      .split(";")
      .map((p) => `${p.split("=")[0].trim()}=[REDACTED]`)
      .join("; ");
  }
  if (n === "authentication-info" || n === "proxy-authentication-info") {
    // Digest's rspauth / nextnonce / cnonce: keep the parameter names, hide every value.
    return redactParamList(value);
  }
  if (n === "set-cookie") {
    const [pair, ...attrs] = value.split(";");
    return [`${pair.split("=")[0].trim()}=[REDACTED]`, ...attrs.map((a) => a.trim())].join("; ");
  }
  return value;
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
        if (/json/i.test(k))
          return `${p.split("=")[0]}=${encodeURIComponent(redactBody(decodeSafe(p.slice(p.indexOf("=") + 1)), "application/json"))}`;
        return SECRET_FIELD.test(k) ? `${p.split("=")[0]}=[REDACTED]` : p;
      })
      .join("&");
  }
  // Unstructured: hide anything shaped like "secretName": "value" or secretName=value.
  return text.replace(
    /("?[A-Za-z_-]*(?:pass(?:word)?|token|jwt|secret|api[-_]?key|session)[A-Za-z_-]*"?\s*[:=]\s*)("[^"]*"|[^\s,&}]+)/gi,
    "$1[REDACTED]",
  );
}

/** `?access_token=abc&page=2` → `?access_token=[REDACTED]&page=2` (secret-looking names only). */
export function redactQuery(search: string): string {
  if (search.length <= 1) return search;
  return `?${search
    .slice(1)
    .split("&")
    .map((p) => {
      const eq = p.indexOf("=");
      if (eq === -1) return p;
      return SECRET_FIELD.test(decodeSafe(p.slice(0, eq))) ? `${p.slice(0, eq)}=[REDACTED]` : p;
    })
    .join("&")}`;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

export class Logger implements SessionFeature {
  readonly order = FeatureOrder.LOGGER;
  level: LoggerLogLevelValue;
  maxBodySize: number;
  requestFilter: LoggerFilter | null;
  responseFilter: LoggerFilter | null;
  printer: LoggerPrinter;
  #ids = new WeakMap<Message, number>();
  #next = 1;

  constructor(options: LoggerOptions = {}) {
    this.level = options.level ?? LoggerLogLevel.MINIMAL;
    if (![0, 1, 2, 3].includes(this.level)) throw new InvalidArgumentError("Logger level must be a LoggerLogLevel value");
    this.maxBodySize = options.maxBodySize ?? 4096;
    this.requestFilter = options.requestFilter ?? null;
    this.responseFilter = options.responseFilter ?? null;
    this.printer = options.printer ?? ((_l, dir, line) => console.error(`${dir} ${line}`));
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
    for (const [name, value] of headers) this.#print(level, dir, `${name}: ${redactHeaderValue(name, value)}`);
  }

  beforeSend(msg: Message): void {
    const level = this.requestFilter ? this.requestFilter(msg) : this.level;
    if (level === LoggerLogLevel.NONE) return;
    const url = new URL(redactUrl(msg.url));
    this.#print(level, ">", `${msg.method} ${url.pathname}${redactQuery(url.search)} HTTP/${msg.httpVersion}`);
    this.#print(level, ">", `Soup-Debug: Message ${this.#id(msg)} to ${url.host}${msg.restartCount > 0 ? ` (restart ${msg.restartCount})` : ""}`);
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
    this.#print(level, "<", `Soup-Debug: Message ${this.#id(msg)}${msg.fromCache ? " (from cache)" : ""}`);
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

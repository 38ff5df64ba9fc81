/**
 * The redaction the Recorder applies, built on the project's one set of redaction rules
 * (today the Logger's exported functions and Message's redactUrl; src/http/redact.ts is
 * becoming the single module for them — switch these imports when it lands, nothing else
 * in features/record needs to change). What is hidden:
 *
 * - request headers: Authorization / Proxy-Authorization keep their scheme, Cookie keeps
 *   cookie names, and the values of custom credential headers (X-Api-Key, …) are replaced;
 * - response headers: Set-Cookie keeps the cookie name and attributes,
 *   (Proxy-)Authentication-Info keeps parameter names;
 * - URLs: userinfo and secret-looking query parameters (access_token=…, api_key=…);
 * - bodies: JSON and form fields whose names look secret. In response bodies a JWT keeps its
 *   header and claims and loses only its signature, so a client that reads `exp` from a
 *   replayed token (credential sessions do) still works offline, while the token itself is
 *   useless against the real service.
 *
 * Every function is idempotent, so the Replayer can match a live request by redacting it
 * the same way and comparing with what the file holds.
 */
import { redactBody, redactHeaderValue, redactQuery } from "../logger.js";
import { redactUrl } from "../../http/message.js";

/** Credential headers the Logger's rules do not know by name (the issue 9 list). */
export const DEFAULT_SECRET_HEADERS: readonly string[] = [
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
  "x-csrf-token",
  "x-xsrf-token",
  "x-amz-security-token",
];

export const REDACTED = "[REDACTED]";

export class Redaction {
  readonly #secretHeaders: ReadonlySet<string>;
  readonly enabled: boolean;

  constructor(enabled: boolean, extraSecretHeaders: readonly string[] = []) {
    this.enabled = enabled;
    this.#secretHeaders = new Set([...DEFAULT_SECRET_HEADERS, ...extraSecretHeaders.map((h) => h.toLowerCase())]);
  }

  header(name: string, value: string): string {
    if (!this.enabled) return value;
    if (this.#secretHeaders.has(name.toLowerCase())) return REDACTED;
    return redactHeaderValue(name, value);
  }

  /** The URL without its fragment, userinfo and secret query values hidden. */
  url(url: URL): string {
    const u = this.enabled ? new URL(redactUrl(url)) : new URL(url.href);
    u.hash = "";
    if (!this.enabled) return u.href;
    const search = u.search;
    return `${u.href.slice(0, u.href.length - search.length)}${redactQuery(search)}`;
  }

  requestBody(text: string, contentType: string | null): string {
    return this.enabled ? redactBody(text, contentType) : text;
  }

  responseBody(text: string, contentType: string | null): string {
    if (!this.enabled) return text;
    const ct = (contentType ?? "").toLowerCase();
    if (!ct.includes("json") && !/^\s*[{[]/.test(text)) return redactBody(text, contentType);
    try {
      const parsed: unknown = JSON.parse(text);
      const redacted = JSON.stringify(walk(parsed));
      // Nothing secret: keep the body byte for byte (formatting included).
      return redacted === JSON.stringify(parsed) ? text : redacted;
    } catch {
      return redactBody(text, contentType);
    }
  }
}

const SECRET_FIELD = /pass(word)?|token|jwt|secret|api[-_]?key|apikey|session|credential|auth/i;
const JWT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

/**
 * Values under a secret-looking name: strings hidden (JWTs keep their claims), objects and
 * arrays walked with every string inside hidden; numbers, booleans and null kept, so a
 * replayed answer keeps its shape (`"authenticated": true` stays true).
 */
function walk(v: unknown, secret = false): unknown {
  if (Array.isArray(v)) return v.map((x) => walk(x, secret));
  if (typeof v === "string") return secret ? secretString(v) : v;
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) out[k] = walk(val, secret || SECRET_FIELD.test(k));
  return out;
}

function secretString(v: string): string {
  const m = JWT.exec(v);
  // A JWT whose signature is already gone stays as it is (idempotence).
  if (m !== null) return m[3] === "REDACTED" ? v : `${m[1]}.${m[2]}.REDACTED`;
  return REDACTED;
}

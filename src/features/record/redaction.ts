/**
 * The redaction the Recorder applies: the project's one set of rules (http/redact.ts for
 * URLs and secret field names, the Logger's header and body rules and its list of credential
 * headers), so a HAR file hides exactly what the Logger and `String(msg)` hide:
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
import { DEFAULT_SECRET_HEADERS, redactBody, redactHeaderValue } from "../logger.js";
import { redactUrl, SECRET_FIELD } from "../../http/redact.js";

export const REDACTED = "[REDACTED]";

export class Redaction {
  readonly #secretHeaders: ReadonlySet<string>;
  readonly enabled: boolean;

  constructor(enabled: boolean, extraSecretHeaders: readonly string[] = []) {
    this.enabled = enabled;
    this.#secretHeaders = new Set([...DEFAULT_SECRET_HEADERS, ...extraSecretHeaders].map((h) => h.toLowerCase()));
  }

  header(name: string, value: string): string {
    return this.enabled ? redactHeaderValue(name, value, this.#secretHeaders) : value;
  }

  /** The URL without its fragment, userinfo and secret query values hidden. */
  url(url: URL): string {
    const u = new URL(url.href);
    u.hash = "";
    return this.enabled ? redactUrl(u) : u.href;
  }

  /**
   * A Location / Content-Location value: unchanged unless the URL it names carries a secret
   * (`?access_token=…`, OAuth's `#access_token=…`, userinfo), then that URL redacted. The
   * replayed redirect then asks for the redacted URL, which matches the next entry as any
   * live request does.
   */
  location(value: string, base: URL): string {
    if (!this.enabled) return value;
    let u: URL;
    try {
      u = new URL(value, base);
    } catch {
      return value;
    }
    const redacted = redactUrl(u);
    return redacted === u.href ? value : redacted;
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

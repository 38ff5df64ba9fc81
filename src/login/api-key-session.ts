/**
 * ApiKeySession: API-key services in the astrometry.net style. The key (from the argument,
 * a key file or ASTROMETRY_API_KEY) buys a session key from POST `<api>/login`
 * (`request-json={"apikey": …}` → `{"status":"success","session":…}`); every later request
 * carries it as `session` inside its `request-json` form field. Login is lazy (right before
 * the first real request, never at construction), and when the server says the session is
 * invalid the session logs in again (forced) and retries the request once.
 */
import { InvalidArgumentError } from "../errors.js";
import type { MessageHeaders } from "../http/headers.js";
import { Message } from "../http/message.js";
import type { SendOptions } from "../http/session.js";
import { resolveApiKey, type ApiKeySource } from "./api-key.js";
import { CredentialSession, type CredentialSessionOptions, type LoginInput } from "./credential-session.js";
import { InvalidSessionStringError, LoginFailedError, ServiceError, safeServerText } from "./errors.js";
import type { CredentialProfile, ProfileContext } from "./profile.js";

export const ASTROMETRY_API_URL = "https://nova.astrometry.net/api/";
export const ASTROMETRY_API_KEY_ENV = "ASTROMETRY_API_KEY";

export interface ApiKeyCredentials {
  apiKey: string;
}
export interface ApiKeyState {
  /** The session key the service handed out. */
  readonly key: string;
}

const SESSION_KEY = /^[\x21-\x7e]{1,512}$/;
const FORM = "application/x-www-form-urlencoded";
// astrometry.net answers `no session with key "…"`, `user not logged in…`, `invalid session…`.
const INVALID_SESSION = /\bsession\b.*\b(no|invalid|expired|unknown|not)\b|\b(no|invalid|expired|unknown)\b.*\bsession\b|not logged in/i;

function form(requestJson: Record<string, unknown>): string {
  return new URLSearchParams({ "request-json": JSON.stringify(requestJson) }).toString();
}

export class ApiKeyProfile implements CredentialProfile<ApiKeyCredentials, ApiKeyState> {
  readonly name = "apikey";
  readonly apiUrl: string;
  readonly #origin: string;
  readonly #path: string;
  /** The key automatic logins use: the one found at construction, then the last one that logged in. */
  #apiKey: string;

  constructor(apiUrl: string, apiKey: string) {
    const url = new URL(apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("apiUrl must be an http(s) URL");
    this.apiUrl = url.href;
    this.#origin = url.origin;
    this.#path = url.pathname;
    this.#apiKey = apiKey;
  }

  async createSession(ctx: ProfileContext, credentials: ApiKeyCredentials): Promise<ApiKeyState> {
    const msg = new Message("POST", new URL("login", this.apiUrl));
    msg.setRequestBody(FORM, form({ apikey: credentials.apiKey }));
    const ex = await ctx.exchange(msg, "login");
    const body = ex.json as { status?: unknown; session?: unknown; errormessage?: unknown } | null;
    if (ex.status !== 200 || body?.status !== "success") {
      const why = safeServerText(body?.errormessage, 200, [credentials.apiKey]);
      throw new LoginFailedError(
        `Login failed (HTTP ${ex.status}, status ${JSON.stringify(typeof body?.status === "string" ? body.status.slice(0, 40) : null)})${why ? `: ${why}` : ""}`,
        ex.status,
        typeof body?.status === "string" ? body.status.slice(0, 40) : null,
      );
    }
    if (typeof body.session !== "string" || !SESSION_KEY.test(body.session)) {
      throw new LoginFailedError("Login answered success without a well-formed session key", ex.status);
    }
    // A forced re-login (the server forgot the session) must log in as the same account.
    this.#apiKey = credentials.apiKey;
    return { key: body.session };
  }

  autoCredentials(): ApiKeyCredentials {
    return { apiKey: this.#apiKey };
  }

  inScope(url: URL): boolean {
    return url.origin === this.#origin && url.pathname.startsWith(this.#path);
  }

  /** Puts the session key into the `request-json` form field (replacing a stale one on retry). */
  applyCredentials(msg: Message, state: ApiKeyState): void {
    // The body now carries the session key: the Logger must not print it.
    msg.sensitiveBody = true;
    const body = msg.requestBody;
    if (typeof body !== "string" && !(body instanceof Uint8Array)) return;
    if (!(msg.requestHeaders.getOne("Content-Type") ?? "").toLowerCase().startsWith(FORM)) return;
    const params = new URLSearchParams(typeof body === "string" ? body : Buffer.from(body).toString("utf8"));
    const raw = params.get("request-json");
    if (raw === null) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return; // not ours to fix: the server will say what is wrong with it
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) return;
    params.set("request-json", JSON.stringify({ ...(json as Record<string, unknown>), session: state.key }));
    msg.setRequestBody(null, params.toString());
  }

  inspectBody(status: number, headers: MessageHeaders): boolean {
    if (status >= 500) return false;
    const type = (headers.getOne("Content-Type") ?? "").toLowerCase();
    return type === "" || type.includes("json") || type.startsWith("text/");
  }

  expiredByBody(_status: number, _headers: MessageHeaders, json: unknown): boolean {
    const b = json as { status?: unknown; errormessage?: unknown } | null;
    return b?.status === "error" && typeof b.errormessage === "string" && INVALID_SESSION.test(b.errormessage.slice(0, 500));
  }

  encodeState(state: ApiKeyState): Record<string, unknown> {
    return { key: state.key, api: this.apiUrl };
  }

  decodeState(json: Record<string, unknown>): ApiKeyState {
    if (typeof json.key !== "string" || !SESSION_KEY.test(json.key)) throw new InvalidSessionStringError("no well-formed session key");
    if (json.api !== this.apiUrl) throw new InvalidSessionStringError("made for another API URL");
    return { key: json.key };
  }

  describe(): Record<string, string> {
    return { apiUrl: this.apiUrl };
  }
}

export interface ApiKeySessionOptions extends CredentialSessionOptions {
  /** The API key (trimmed). */
  apiKey?: string | null;
  /** A file that holds only the key. */
  keyLocation?: string | null;
  /** Environment variable with the key. @default "ASTROMETRY_API_KEY" */
  envVar?: string | null;
  /** The API root. @default "https://nova.astrometry.net/api/" */
  apiUrl?: string;
}

export interface ApiKeyLoginOptions {
  /** Log in even when a session key is held. @default false */
  force?: boolean;
  /** Import a saved session instead (no network). */
  sessionString?: string;
}

export class ApiKeySession extends CredentialSession<ApiKeyCredentials, ApiKeyState> {
  readonly #profile: ApiKeyProfile;
  /** Every API key this session was given (server text quoted in errors must not repeat one). */
  readonly #apiKeys: string[];
  /** Where the API key was found. */
  readonly keySource: ApiKeySource;

  constructor(options: ApiKeySessionOptions = {}) {
    const { key, source } = resolveApiKey({
      apiKey: options.apiKey,
      keyLocation: options.keyLocation,
      envVar: options.envVar === undefined ? ASTROMETRY_API_KEY_ENV : options.envVar,
    });
    const profile = new ApiKeyProfile(options.apiUrl ?? ASTROMETRY_API_URL, key);
    super(profile, options);
    this.#profile = profile;
    this.#apiKeys = [key];
    this.keySource = source;
  }

  get apiUrl(): string {
    return this.#profile.apiUrl;
  }

  /**
   * The API key used to log in (the seed's `api_key`): the one found at construction, or the
   * last one passed to `login({ apiKey })` that logged in. A secret: read-only, not an own
   * property (so not in `Object.keys`, `JSON.stringify` or `util.inspect`), never in errors or logs.
   */
  get apiKey(): string {
    return this.#profile.autoCredentials().apiKey;
  }

  /** The session key, once logged in (a secret: never logged or inspected). */
  get key(): string | null {
    return this.state?.key ?? null;
  }

  /** Logs in when not logged in yet, or when `force`d. Sends nothing otherwise. */
  override async login(options: ApiKeyLoginOptions | LoginInput<ApiKeyCredentials> = {}): Promise<void> {
    const o = options as ApiKeyLoginOptions & Partial<ApiKeyCredentials>;
    if (typeof o.sessionString === "string") return super.login({ sessionString: o.sessionString });
    if (this.loggedIn && o.force !== true) return;
    // Another key may be given for this login (it then also serves later automatic
    // re-logins); otherwise the one found at construction.
    if (typeof o.apiKey === "string") {
      const apiKey = o.apiKey.trim();
      if (apiKey === "") throw new InvalidArgumentError("login({ apiKey }) needs a non-empty key");
      if (!this.#apiKeys.includes(apiKey)) this.#apiKeys.push(apiKey);
      return super.login({ apiKey });
    }
    await super.login(this.#profile.autoCredentials());
  }

  /**
   * Calls `<api>/<service>` with `args` as `request-json` (POST, form-encoded), logging in
   * first when needed. Resolves to the JSON answer; `{"status":"error"}` throws ServiceError.
   */
  async call<T = Record<string, unknown>>(service: string, args: Record<string, unknown> = {}, options?: SendOptions): Promise<T> {
    if (typeof service !== "string" || service === "" || /^[a-z][a-z0-9+.-]*:|^\/\//i.test(service)) {
      throw new TypeError("service must be a path relative to the API URL");
    }
    const msg = new Message("POST", new URL(service.replace(/^\/+/, ""), this.apiUrl));
    msg.setRequestBody(FORM, form(args));
    const bytes = await this.sendAndRead(msg, options);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
    } catch {
      throw new ServiceError(`${service} answered HTTP ${msg.status} with non-JSON`, msg.status);
    }
    const b = json as { status?: unknown; errormessage?: unknown } | null;
    if (msg.status !== 200 || b?.status === "error") {
      const why = safeServerText(b?.errormessage, 200, [this.key, ...this.#apiKeys]);
      throw new ServiceError(
        `${service} failed (HTTP ${msg.status})${why ? `: ${why}` : ""}`,
        msg.status,
        typeof b?.status === "string" ? b.status.slice(0, 40) : null,
      );
    }
    return json as T;
  }
}

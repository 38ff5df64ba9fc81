/**
 * AtprotoSession: a CredentialSession with the atproto profile, plus small XRPC helpers.
 *
 *   const bsky = new AtprotoSession();                     // entryway https://bsky.social
 *   bsky.onSessionChange(async (event, change) => {        // persist on CREATE and REFRESH
 *     if (event === "CREATE" || event === "REFRESH") await save(change.sessionString!);
 *   });
 *   await bsky.login(saved ? { sessionString: saved } : { identifier, password });
 *   const profile = await bsky.get("app.bsky.actor.getProfile", { actor: bsky.did! });
 */
import { Message } from "../http/message.js";
import type { SendOptions } from "../http/session.js";
import { CredentialSession, type CredentialSessionOptions } from "./credential-session.js";
import { ServiceError, safeServerText } from "./errors.js";
import { AtprotoProfile, DEFAULT_ATPROTO_SERVICE, type AtprotoCredentials, type AtprotoState } from "./atproto-profile.js";

export interface AtprotoSessionOptions extends CredentialSessionOptions {
  /** The entryway to log in at. @default "https://bsky.social" */
  service?: string | URL;
}

export type XrpcParams = Record<string, string | number | boolean | ReadonlyArray<string | number | boolean> | undefined>;

const NSID = /^[a-zA-Z][a-zA-Z0-9-]*(\.[a-zA-Z0-9-]+)+$/;

export class AtprotoSession extends CredentialSession<AtprotoCredentials, AtprotoState> {
  readonly #profile: AtprotoProfile;

  constructor(options: AtprotoSessionOptions = {}) {
    const profile = new AtprotoProfile(options.service ?? DEFAULT_ATPROTO_SERVICE);
    super(profile, options);
    this.#profile = profile;
  }

  /** The entryway logins go to. */
  get service(): string {
    return this.#profile.service;
  }
  get did(): string | null {
    return this.state?.did ?? null;
  }
  get handle(): string | null {
    return this.state?.handle ?? null;
  }
  /** The account's PDS (from the DID document); requests go here. Falls back to the entryway. */
  get pdsEndpoint(): string {
    return this.state?.pdsEndpoint ?? this.#profile.service;
  }

  /** `<pds>/xrpc/<nsid>?params` */
  xrpcUrl(nsid: string, params?: XrpcParams): URL {
    if (!NSID.test(nsid)) throw new TypeError(`Not an NSID: ${JSON.stringify(nsid.slice(0, 100))}`);
    const url = new URL(`${this.pdsEndpoint}/xrpc/${nsid}`);
    for (const [k, v] of Object.entries(params ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) url.searchParams.append(k, String(one));
      else url.searchParams.append(k, String(v));
    }
    return url;
  }

  /** An XRPC query (GET); resolves to the parsed JSON, throws ServiceError on an XRPC error. */
  async get<T = unknown>(nsid: string, params?: XrpcParams, options?: SendOptions): Promise<T> {
    const msg = new Message("GET", this.xrpcUrl(nsid, params));
    msg.requestHeaders.set("Accept", "application/json");
    return this.#call<T>(msg, options);
  }

  /** An XRPC procedure (POST with a JSON body, or none). */
  async post<T = unknown>(nsid: string, input?: unknown, options?: SendOptions): Promise<T> {
    const msg = new Message("POST", this.xrpcUrl(nsid));
    msg.requestHeaders.set("Accept", "application/json");
    if (input !== undefined) msg.setRequestBody("application/json", JSON.stringify(input));
    return this.#call<T>(msg, options);
  }

  async #call<T>(msg: Message, options?: SendOptions): Promise<T> {
    const bytes = await this.sendAndRead(msg, options);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
    let json: unknown = null;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch {
      if (msg.status >= 200 && msg.status < 300) throw new ServiceError(`XRPC ${msg.url.pathname} answered non-JSON`, msg.status);
    }
    if (msg.status < 200 || msg.status >= 300) {
      const b = json as { error?: unknown; message?: unknown } | null;
      const name = typeof b?.error === "string" ? b.error.slice(0, 100) : null;
      const detail = safeServerText(b?.message, 200, [this.state?.accessJwt, this.state?.refreshJwt]);
      throw new ServiceError(
        `XRPC ${msg.url.pathname} failed with HTTP ${msg.status}${name ? ` (${name})` : ""}${detail ? `: ${detail}` : ""}`,
        msg.status,
        name,
      );
    }
    return json as T;
  }
}

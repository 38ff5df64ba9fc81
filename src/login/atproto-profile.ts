/**
 * The atproto profile (Bluesky and any PDS): createSession / refreshSession / deleteSession
 * over XRPC, access and refresh JWTs (the refresh JWT is rotated on every refresh), the PDS
 * endpoint taken from the DID document, "ExpiredToken" detection, and session strings that
 * interoperate with the atproto Python SDK: `handle:::did:::accessJwt:::refreshJwt:::pds`
 * (and its older four-field form, whose PDS is https://bsky.social). Credentials only go
 * to `https:` endpoints, or plain `http:` on a loopback host (InsecureEndpointError else).
 */
import type { MessageHeaders } from "../http/headers.js";
import { Message } from "../http/message.js";
import { InsecureEndpointError, InvalidSessionStringError, LoginFailedError, ServiceError, SessionExpiredError, safeServerText } from "./errors.js";
import type { CredentialProfile, Exchange, ProfileContext } from "./profile.js";

export const DEFAULT_ATPROTO_SERVICE = "https://bsky.social";
const SEPARATOR = ":::";

export interface AtprotoCredentials {
  /** Handle, DID or email. */
  identifier: string;
  /** Password or (better) an app password. */
  password: string;
  /** The code mailed for two-factor login, when the server asks for one. */
  authFactorToken?: string;
}

export interface AtprotoState {
  readonly handle: string;
  readonly did: string;
  readonly accessJwt: string;
  readonly refreshJwt: string;
  /** Where this account's requests go (from the DID document), e.g. https://x.host.bsky.network. */
  readonly pdsEndpoint: string;
  /** @internal origin of pdsEndpoint, computed once (checked on every request). */
  readonly pdsOrigin: string;
  /** @internal `Bearer <accessJwt>`, built once (set on every request). */
  readonly authorization: string;
}

/** Endpoint URLs are kept as origin + path without a trailing slash or `/xrpc` (Python SDK form). */
export function normalizeEndpoint(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "") return null;
  // Trailing slashes by index: `/\/+$/` restarts at every slash of a run that is not at the end.
  let end = url.pathname.length;
  while (end > 0 && url.pathname[end - 1] === "/") end--;
  let path = url.pathname.slice(0, end);
  if (path.endsWith("/xrpc")) path = path.slice(0, -5);
  return url.origin + path;
}

/**
 * True for hosts where plain http is acceptable for development: `localhost`, 127.0.0.0/8
 * and ::1 (the URL parser has already normalized other spellings such as `0x7f.1`).
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === "localhost" || h === "[::1]" || h === "::1") return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** Throws InsecureEndpointError unless credentials may go to `endpoint` (a normalized endpoint). */
export function requireSecureEndpoint(endpoint: string, where: string): void {
  const url = new URL(endpoint);
  if (url.protocol === "https:" || isLoopbackHost(url.hostname)) return;
  throw new InsecureEndpointError(url.origin, where);
}

// JWTs are base64url segments joined by dots; anything else in a token field is refused, so a
// hostile answer cannot smuggle ":::" (or a header break) into what we store and export.
const TOKEN = /^[A-Za-z0-9_\-.]{1,8192}$/;
const DID = /^did:[a-z0-9]+:[A-Za-z0-9._:%-]{1,2048}$/;
const HANDLE = /^[^\s:]{1,253}$/;

/**
 * A checked state, or null when a field is malformed. Throws InsecureEndpointError when the
 * PDS endpoint is well-formed but not https (outside loopback): the refresh token would go
 * there in clear, so this is refused whatever the state came from (`where` says what).
 */
export function makeAtprotoState(
  fields: {
    handle: unknown;
    did: unknown;
    accessJwt: unknown;
    refreshJwt: unknown;
    pdsEndpoint: unknown;
  },
  where = "the session's PDS endpoint",
): AtprotoState | null {
  const { handle, did, accessJwt, refreshJwt } = fields;
  if (typeof handle !== "string" || !HANDLE.test(handle)) return null;
  if (typeof did !== "string" || !DID.test(did) || did.includes(SEPARATOR) || did.endsWith(":")) return null;
  if (typeof accessJwt !== "string" || !TOKEN.test(accessJwt)) return null;
  if (typeof refreshJwt !== "string" || !TOKEN.test(refreshJwt)) return null;
  const pdsEndpoint = normalizeEndpoint(fields.pdsEndpoint);
  if (pdsEndpoint === null) return null;
  requireSecureEndpoint(pdsEndpoint, where);
  return { handle, did, accessJwt, refreshJwt, pdsEndpoint, pdsOrigin: new URL(pdsEndpoint).origin, authorization: `Bearer ${accessJwt}` };
}

/**
 * The `#atproto_pds` service of a DID document, or null. As in the atproto SDKs, the entry's
 * id is `#atproto_pds` or `<the document's DID>#atproto_pds`, and its type
 * `AtprotoPersonalDataServer`. With `did`, a document about another DID is ignored.
 */
export function pdsFromDidDoc(didDoc: unknown, did?: string): string | null {
  if (typeof didDoc !== "object" || didDoc === null) return null;
  const { id: docId, service: services } = didDoc as { id?: unknown; service?: unknown };
  if (did !== undefined && docId !== undefined && docId !== did) return null;
  if (!Array.isArray(services)) return null;
  const fullId = typeof docId === "string" ? `${docId}#atproto_pds` : null;
  for (const s of services.slice(0, 64)) {
    if (typeof s !== "object" || s === null) continue;
    const { id, type, serviceEndpoint } = s as Record<string, unknown>;
    if ((id === "#atproto_pds" || (fullId !== null && id === fullId)) && type === "AtprotoPersonalDataServer") {
      const endpoint = normalizeEndpoint(serviceEndpoint);
      if (endpoint !== null) return endpoint;
    }
  }
  return null;
}

/** Reads the atproto Python SDK's session string (5 fields, or the older 4). Null: not that format. */
export function parseAtprotoSessionString(value: string): AtprotoState | null {
  const fields = value.split(SEPARATOR);
  if (fields.length !== 4 && fields.length !== 5) return null;
  const [handle, did, accessJwt, refreshJwt, pds = DEFAULT_ATPROTO_SERVICE] = fields;
  const state = makeAtprotoState({ handle, did, accessJwt, refreshJwt, pdsEndpoint: pds }, "the PDS of an imported session string");
  if (state === null) throw new InvalidSessionStringError("an atproto session string with a malformed field");
  return state;
}

export function formatAtprotoSessionString(s: AtprotoState): string {
  return [s.handle, s.did, s.accessJwt, s.refreshJwt, s.pdsEndpoint].join(SEPARATOR);
}

function xrpcError(ex: Exchange, secrets: string[] = []): { name: string | null; message: string } {
  const body = ex.json as { error?: unknown; message?: unknown } | null;
  const name = typeof body?.error === "string" ? safeServerText(body.error, 100, secrets) : null;
  return { name, message: safeServerText(body?.message, 200, secrets) };
}

function jsonPost(url: string, body?: unknown): Message {
  const msg = new Message("POST", url);
  if (body !== undefined) msg.setRequestBody("application/json", JSON.stringify(body));
  msg.requestHeaders.set("Accept", "application/json");
  return msg;
}

export class AtprotoProfile implements CredentialProfile<AtprotoCredentials, AtprotoState> {
  readonly name = "atproto";
  /** The entryway logins go to (e.g. https://bsky.social). */
  readonly service: string;
  readonly #serviceOrigin: string;

  constructor(service: string | URL = DEFAULT_ATPROTO_SERVICE) {
    const s = normalizeEndpoint(String(service));
    if (s === null) throw new TypeError("service must be an http(s) URL without credentials");
    // The password goes to the service: https, or http on a loopback host (a local PDS).
    requireSecureEndpoint(s, "the configured atproto service");
    this.service = s;
    this.#serviceOrigin = new URL(s).origin;
  }

  async createSession(ctx: ProfileContext, credentials: AtprotoCredentials): Promise<AtprotoState> {
    const { identifier, password, authFactorToken } = credentials;
    if (typeof identifier !== "string" || identifier === "" || typeof password !== "string" || password === "") {
      throw new TypeError("atproto login needs { identifier, password } as non-empty strings");
    }
    const body: Record<string, string> = { identifier, password };
    if (typeof authFactorToken === "string" && authFactorToken !== "") body.authFactorToken = authFactorToken;
    const ex = await ctx.exchange(jsonPost(`${this.service}/xrpc/com.atproto.server.createSession`, body), "login");
    if (ex.status !== 200) {
      const e = xrpcError(ex, [password, authFactorToken ?? ""]);
      throw new LoginFailedError(
        `createSession failed with HTTP ${ex.status}${e.name ? ` (${e.name})` : ""}${e.message ? `: ${e.message}` : ""}`,
        ex.status,
        e.name,
      );
    }
    return this.#stateFrom(ex, this.service, "createSession");
  }

  async refreshSession(ctx: ProfileContext, state: AtprotoState): Promise<AtprotoState> {
    const msg = jsonPost(`${state.pdsEndpoint}/xrpc/com.atproto.server.refreshSession`);
    msg.requestHeaders.set("Authorization", `Bearer ${state.refreshJwt}`);
    const ex = await ctx.exchange(msg, "refresh");
    if (ex.status !== 200) {
      const e = xrpcError(ex);
      if (
        (ex.status === 400 || ex.status === 401) &&
        (e.name === "ExpiredToken" || e.name === "InvalidToken" || e.name === "AuthenticationRequired")
      ) {
        throw new SessionExpiredError(`The PDS refused the refresh token (${e.name}): log in again`);
      }
      throw new ServiceError(`refreshSession failed with HTTP ${ex.status}${e.name ? ` (${e.name})` : ""}`, ex.status, e.name);
    }
    return this.#stateFrom(ex, state.pdsEndpoint, "refreshSession");
  }

  async deleteSession(ctx: ProfileContext, state: AtprotoState): Promise<void> {
    const msg = jsonPost(`${state.pdsEndpoint}/xrpc/com.atproto.server.deleteSession`);
    msg.requestHeaders.set("Authorization", `Bearer ${state.refreshJwt}`);
    const ex = await ctx.exchange(msg, "logout");
    if (ex.status === 200) return;
    const e = xrpcError(ex);
    if (e.name === "ExpiredToken" || e.name === "InvalidToken") throw new SessionExpiredError();
    throw new ServiceError(`deleteSession failed with HTTP ${ex.status}${e.name ? ` (${e.name})` : ""}`, ex.status, e.name);
  }

  #stateFrom(ex: Exchange, fallbackPds: string, what: string): AtprotoState {
    const b = (ex.json ?? {}) as Record<string, unknown>;
    const pdsEndpoint = pdsFromDidDoc(b.didDoc, typeof b.did === "string" ? b.did : undefined) ?? fallbackPds;
    const state = makeAtprotoState(
      { handle: b.handle, did: b.did, accessJwt: b.accessJwt, refreshJwt: b.refreshJwt, pdsEndpoint },
      `the PDS named by the ${what} answer`,
    );
    if (state === null) throw new LoginFailedError(`${what} answered 200 without a well-formed session`, ex.status);
    return state;
  }

  inScope(url: URL, state: AtprotoState | null): boolean {
    const origin = url.origin;
    return origin === this.#serviceOrigin || (state !== null && origin === state.pdsOrigin);
  }

  applyCredentials(msg: Message, state: AtprotoState): void {
    msg.requestHeaders.set("Authorization", state.authorization);
  }

  accessToken(state: AtprotoState): string {
    return state.accessJwt;
  }

  refreshToken(state: AtprotoState): string {
    return state.refreshJwt;
  }

  expiredByHeaders(status: number, headers: MessageHeaders): boolean {
    if (status !== 401) return false;
    const challenge = headers.get("WWW-Authenticate") ?? "";
    return /error\s*=\s*"?(ExpiredToken|invalid_token)\b/i.test(challenge);
  }

  inspectBody(status: number, headers: MessageHeaders): boolean {
    if (status !== 400 && status !== 401) return false;
    const type = headers.getOne("Content-Type");
    return type === null || type.toLowerCase().includes("json");
  }

  expiredByBody(_status: number, _headers: MessageHeaders, json: unknown): boolean {
    return (json as { error?: unknown } | null)?.error === "ExpiredToken";
  }

  encodeState(s: AtprotoState): Record<string, unknown> {
    return { handle: s.handle, did: s.did, accessJwt: s.accessJwt, refreshJwt: s.refreshJwt, pdsEndpoint: s.pdsEndpoint };
  }

  decodeState(json: Record<string, unknown>): AtprotoState {
    const state = makeAtprotoState(json as Parameters<typeof makeAtprotoState>[0], "the PDS of an imported session");
    if (state === null) throw new InvalidSessionStringError("an atproto session with a malformed field");
    return state;
  }

  exportSessionString(state: AtprotoState): string {
    return formatAtprotoSessionString(state);
  }

  importSessionString(value: string): AtprotoState | null {
    return parseAtprotoSessionString(value);
  }

  describe(s: AtprotoState): Record<string, string> {
    return { handle: s.handle, did: s.did, pdsEndpoint: s.pdsEndpoint };
  }
}

/**
 * HTTP Digest (RFC 7616, with RFC 2069 compatibility). Beyond libsoup's Digest (MD5 only,
 * `auth` only) this implements SHA-256 and SHA-512-256 and their `-sess` variants,
 * `qop=auth-int`, `userhash`, `charset=UTF-8` with `username*`, `stale=true`,
 * `nextnonce` and `rspauth` verification.
 *
 * Nonce counting: `nc` starts at 00000001 for every new nonce and goes up by one for every
 * request that uses it (8 lower-case hex digits), so later requests in the protection
 * space can be authorized without a 401 round trip. A `-sess` variant keeps one cnonce per
 * nonce (its HA1 depends on it, and servers recompute HA1 from each request's cnonce);
 * the other algorithms use a fresh cnonce per request.
 */
import { timingSafeEqual } from "node:crypto";
import type { Message } from "../../http/message.js";
import { Auth, type AuthInit } from "./auth.js";
import { encodeExtValue, quote, type AuthChallenge } from "./challenge-parser.js";
import {
  digestAlgorithm,
  digestHA1,
  digestHA2,
  digestResponse,
  digestUserhash,
  formatNc,
  H,
  newCnonce,
  type DigestAlgorithm,
} from "./digest-compute.js";
import { AuthError } from "./errors.js";
import { MessageSlot } from "./message-slot.js";

const MD5 = digestAlgorithm("MD5")!;
/** A hostile `domain` list cannot make the cache grow without bound. */
const MAX_DOMAIN_ENTRIES = 32;
const MAX_NC = 0xffffffff;

function parseQop(value: string | undefined): Set<string> {
  const out = new Set<string>();
  if (value === undefined) return out;
  for (const q of value.split(/[\s,]+/)) if (q === "auth" || q === "auth-int") out.add(q);
  return out;
}

/** What was sent for one message, to check the server's rspauth against. */
interface Exchange {
  ha1: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: string;
  uri: string;
}

export class AuthDigest extends Auth {
  static override readonly schemeName = "Digest";
  /** The MD5 rank; SHA-256 and SHA-512-256 challenges rank higher (see challengeStrength). */
  static override readonly strength = 30;

  /** Unknown algorithms, a missing nonce, or a qop list without auth/auth-int cannot be answered. */
  static override challengeStrength(challenge: AuthChallenge): number {
    const p = challenge.params;
    const alg = digestAlgorithm(p.algorithm);
    if (alg === null || p.nonce === undefined) return -1;
    if (p.qop !== undefined && parseQop(p.qop).size === 0) return -1;
    // -sess needs a cnonce, which RFC 2617 forbids without qop: not answerable.
    if (alg.sess && p.qop === undefined) return -1;
    return alg.strength;
  }

  #alg: DigestAlgorithm = MD5;
  #nonce: string | null = null;
  #opaque: string | undefined;
  #qops = new Set<string>();
  #userhash = false;
  #domain: string[] = [];
  #nc = 0;
  #sessCnonce: string | null = null;
  #ha1Base: string | null = null;
  #exchanges = new MessageSlot<Exchange>("sessionkit digest exchange");

  constructor(init: AuthInit) {
    super(init);
    if (init.challenge) this.#load(init.challenge.params);
  }

  /** The algorithm in use, e.g. "SHA-256" or "MD5-sess". */
  get algorithm(): string {
    return this.#alg.token;
  }

  /** The qop that will be used for a request without a stream body ("" for RFC 2069 mode). */
  get qopOptions(): string[] {
    return [...this.#qops];
  }

  #load(p: Record<string, string>): void {
    this.#alg = digestAlgorithm(p.algorithm) ?? MD5;
    this.#nonce = p.nonce ?? null;
    this.#opaque = p.opaque;
    this.#qops = parseQop(p.qop);
    this.#userhash = (p.userhash ?? "").toLowerCase() === "true";
    this.#domain = (p.domain ?? "")
      .split(/\s+/)
      .filter((d) => d !== "")
      .slice(0, MAX_DOMAIN_ENTRIES);
    this.#newNonce(this.#nonce);
    this.#ha1Base = null;
  }

  #newNonce(nonce: string | null): void {
    this.#nonce = nonce;
    this.#nc = 0;
    this.#sessCnonce = null;
  }

  override authenticate(username: string, password: string): void {
    super.authenticate(username, password);
    this.#ha1Base = null;
  }

  override forget(): void {
    super.forget();
    this.#ha1Base = null;
  }

  /** `stale=true` in the same realm: the credentials were right, only the nonce expired. */
  override update(challenge: AuthChallenge): boolean {
    const stale = (challenge.params.stale ?? "").toLowerCase() === "true";
    const sameRealm = (challenge.params.realm ?? "") === this.realm;
    this.setParams(challenge.params);
    this.#load(challenge.params);
    return stale && sameRealm && this.isAuthenticated;
  }

  override canAnswer(msg: Message): boolean {
    return this.#chooseQop(msg) !== null;
  }

  /**
   * auth-int is the stronger choice (it also protects the body) and is used whenever the
   * body is in memory; a stream body cannot be hashed before it is sent, so it gets auth.
   */
  #chooseQop(msg: Message): "" | "auth" | "auth-int" | null {
    if (this.#qops.size === 0) return "";
    if (this.#qops.has("auth-int") && msg.bodyReplayable) return "auth-int";
    if (this.#qops.has("auth")) return "auth";
    return null;
  }

  #ha1(nonce: string, cnonce: string): string {
    const hash = this.#alg.hash;
    // H(user:realm:pass) is the same for every request: compute it once per credentials.
    this.#ha1Base ??= digestHA1(hash, false, this.username, this.realm, this.password, "", "");
    return this.#alg.sess ? H(hash, `${this.#ha1Base}:${nonce}:${cnonce}`) : this.#ha1Base;
  }

  getAuthorization(msg: Message): string | null {
    const nonce = this.#nonce;
    if (!this.isAuthenticated || nonce === null) return null;
    const qop = this.#chooseQop(msg);
    if (qop === null) return null;
    const hash = this.#alg.hash;
    const { method, uri, tunnel } = this.#target(msg);
    let nc = "";
    let cnonce = "";
    if (qop !== "") {
      // A nonce used 2^32-1 times cannot be counted further; the server will challenge again.
      if (this.#nc < MAX_NC) this.#nc++;
      nc = formatNc(this.#nc);
      cnonce = this.#alg.sess ? (this.#sessCnonce ??= newCnonce()) : newCnonce();
    }
    const ha1 = this.#ha1(nonce, cnonce);
    const body = qop === "auth-int" && !tunnel ? (msg.requestBody as string | Uint8Array | null) : null;
    const ha2 = digestHA2(hash, method, uri, qop, body);
    const response = digestResponse(hash, ha1, nonce, nc, cnonce, qop, ha2);
    if (qop !== "") this.#exchanges.set(msg, { ha1, nonce, nc, cnonce, qop, uri });

    const parts: string[] = [];
    const user = this.username;
    if (this.#userhash) parts.push(`username=${quote(digestUserhash(hash, user, this.realm))}`);
    else if (/^[\x20-\x7e]*$/.test(user)) parts.push(`username=${quote(user)}`);
    else parts.push(`username*=${encodeExtValue(user)}`); // RFC 7616 §3.4.4
    parts.push(`realm=${quote(this.realm)}`, `uri=${quote(uri)}`);
    if (this.params.algorithm !== undefined) parts.push(`algorithm=${this.#alg.token}`);
    parts.push(`nonce=${quote(nonce)}`);
    if (qop !== "") parts.push(`nc=${nc}`, `cnonce=${quote(cnonce)}`, `qop=${qop}`);
    parts.push(`response=${quote(response)}`);
    if (this.#opaque !== undefined) parts.push(`opaque=${quote(this.#opaque)}`);
    if (this.#userhash) parts.push("userhash=true");
    return `Digest ${parts.join(", ")}`;
  }

  /**
   * digest-uri is the request-target the challenger sees (RFC 7616 §3.4): the path for an
   * origin server; for a proxy, the absolute URL of a plain http request, or `host:port`
   * with method CONNECT for the tunnel of an https request.
   */
  #target(msg: Message): { method: string; uri: string; tunnel: boolean } {
    const url = msg.url;
    if (!this.isProxy) return { method: msg.method, uri: url.pathname + url.search, tunnel: false };
    // https goes through a CONNECT tunnel, and so do WebSocket upgrades (ws: and wss:).
    if (url.protocol !== "http:") {
      const host = url.hostname.replace(/^\[|\]$/g, "");
      const port = url.port || (url.protocol === "ws:" ? "80" : "443");
      return { method: "CONNECT", uri: `${host.includes(":") ? `[${host}]` : host}:${port}`, tunnel: true };
    }
    return { method: msg.method, uri: url.href.replace(/#.*$/, ""), tunnel: false };
  }

  /**
   * `nextnonce` replaces the nonce for the next request (nc starts again at 1). `rspauth`
   * is checked for qop=auth: a mismatch means the server does not know the password (or
   * something rewrote the response), so the response is rejected with
   * AUTH_RSPAUTH_MISMATCH. For auth-int the rspauth covers the response body, which is not
   * read yet at this point, so it is not checked.
   */
  override checkResponse(msg: Message, info: Record<string, string> | null): void {
    const ex = this.#exchanges.get(msg);
    this.#exchanges.set(msg, undefined);
    if (info === null) return;
    if (ex !== undefined && info.rspauth !== undefined && ex.qop === "auth") {
      const ha2 = H(this.#alg.hash, `:${ex.uri}`);
      const expected = Buffer.from(digestResponse(this.#alg.hash, ex.ha1, ex.nonce, ex.nc, ex.cnonce, ex.qop, ha2));
      const got = Buffer.from(info.rspauth.toLowerCase());
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        throw new AuthError(
          "AUTH_RSPAUTH_MISMATCH",
          `The server's Digest rspauth for realm ${JSON.stringify(this.realm.slice(0, 100))} does not match: the response was rejected`,
        );
      }
    }
    const next = info.nextnonce;
    if (next !== undefined && next !== "" && next !== this.#nonce) this.#newNonce(next);
  }

  /**
   * RFC 7616 §3.3 `domain`: the URIs the credentials cover. Only paths on the challenged
   * origin are kept (credentials never cross origins); none means the whole origin.
   */
  override getProtectionSpace(): string[] {
    if (this.isProxy) return ["/"];
    const out: string[] = [];
    for (const d of this.#domain) {
      try {
        const u = new URL(d, this.url);
        if (u.origin === this.origin) out.push(u.pathname);
      } catch {
        // not a URI: ignore
      }
    }
    return out.length > 0 ? out : ["/"];
  }
}

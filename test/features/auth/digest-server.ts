/**
 * A Digest-verifying server side for the tests, written straight from RFC 7616 with
 * node:crypto (it does not use the client's code): it issues challenges, checks every
 * Authorization header (response, uri, nc strictly increasing per nonce, known nonce,
 * algorithm as offered) and can send stale=true, nextnonce and rspauth.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

const HASHES: Record<string, string> = { MD5: "md5", "SHA-256": "sha256", "SHA-512-256": "sha512-256" };

/** A small independent parser for the client's Authorization: Digest header. */
export function parseDigestAuthorization(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  const m = /^Digest\s+/i.exec(header);
  if (!m) return out;
  const re = /([A-Za-z0-9*-]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,\s*|$)/gy;
  re.lastIndex = m[0].length;
  let p: RegExpExecArray | null;
  while ((p = re.exec(header)) !== null) {
    const name = p[1].toLowerCase();
    const value = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
    if (name === "username*") {
      const ext = /^UTF-8''(.*)$/i.exec(value);
      out.username = ext ? decodeURIComponent(ext[1]) : value;
      out["username*"] = value;
    } else out[name] = value;
  }
  return out;
}

export interface DigestServerOptions {
  users: Record<string, string>;
  realm?: string;
  /** Challenges offered, in this order. @default ["MD5"] */
  algorithms?: string[];
  /** qop list, or null for RFC 2069 mode. @default "auth" */
  qop?: string | null;
  userhash?: boolean;
  charset?: boolean;
  domain?: string;
  opaque?: string;
  /** After this many uses a nonce is stale. @default Infinity */
  nonceUses?: number;
  /** Send Authentication-Info: nextnonce on success. */
  nextnonce?: boolean;
  /** Send rspauth on success ("wrong" sends a bad one). */
  rspauth?: boolean | "wrong";
}

export interface DigestCheck {
  ok: boolean;
  stale: boolean;
  params: Record<string, string>;
  authInfo: string | null;
}

export class DigestVerifier {
  readonly realm: string;
  readonly opts: DigestServerOptions;
  readonly nonces = new Map<string, { lastNc: number; uses: number }>();
  /** Every Authorization header the server accepted (to look at nc, qop…). */
  readonly accepted: Array<Record<string, string>> = [];

  constructor(opts: DigestServerOptions) {
    this.opts = opts;
    this.realm = opts.realm ?? "test@sessionkit";
  }

  newNonce(): string {
    const n = randomBytes(18).toString("base64");
    this.nonces.set(n, { lastNc: 0, uses: 0 });
    return n;
  }

  /** The WWW-Authenticate values to send (one per algorithm). */
  challenges(stale = false): string[] {
    const qop = this.opts.qop === undefined ? "auth" : this.opts.qop;
    return (this.opts.algorithms ?? ["MD5"]).map((alg) => {
      const parts = [`realm="${this.realm}"`, `nonce="${this.newNonce()}"`, `algorithm=${alg}`];
      if (qop !== null) parts.push(`qop="${qop}"`);
      if (this.opts.opaque) parts.push(`opaque="${this.opts.opaque}"`);
      if (this.opts.domain) parts.push(`domain="${this.opts.domain}"`);
      if (this.opts.charset) parts.push("charset=UTF-8");
      if (this.opts.userhash) parts.push("userhash=true");
      if (stale) parts.push("stale=true");
      return `Digest ${parts.join(", ")}`;
    });
  }

  check(req: IncomingMessage, body: Buffer): DigestCheck {
    const fail = (stale = false, params: Record<string, string> = {}): DigestCheck => ({ ok: false, stale, params, authInfo: null });
    const header = req.headers.authorization;
    if (!header || !/^Digest /i.test(header)) return fail();
    const p = parseDigestAuthorization(header);
    const algName = (p.algorithm ?? "MD5").toUpperCase();
    const sess = algName.endsWith("-SESS");
    const hash = HASHES[sess ? algName.slice(0, -5) : algName];
    const offered = (this.opts.algorithms ?? ["MD5"]).map((a) => a.toUpperCase());
    if (!hash || !offered.includes(algName)) return fail(false, p);
    const H = (s: string | Buffer) => createHash(hash).update(s).digest("hex");
    let user = p.username;
    if (this.opts.userhash) {
      if (p.userhash !== "true") return fail(false, p);
      user = Object.keys(this.opts.users).find((u) => H(`${u}:${this.realm}`) === p.username) ?? "";
    }
    const password = this.opts.users[user];
    if (password === undefined || p.realm !== this.realm || p.uri !== req.url) return fail(false, p);
    const nonce = this.nonces.get(p.nonce);
    if (nonce === undefined) return fail(false, p);
    const qop = p.qop ?? "";
    const offeredQop = this.opts.qop === undefined ? "auth" : this.opts.qop;
    if ((offeredQop === null) !== (qop === "")) return fail(false, p);
    if (qop !== "") {
      if (!/^[0-9a-f]{8}$/.test(p.nc) || !p.cnonce) return fail(false, p);
      const nc = parseInt(p.nc, 16);
      if (nc <= nonce.lastNc) return fail(false, p); // replayed or out of order
    }
    let ha1 = H(`${user}:${this.realm}:${password}`);
    if (sess) ha1 = H(`${ha1}:${p.nonce}:${p.cnonce}`);
    const a2 = qop === "auth-int" ? `${req.method}:${p.uri}:${H(body)}` : `${req.method}:${p.uri}`;
    const expected = qop === "" ? H(`${ha1}:${p.nonce}:${H(a2)}`) : H(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${qop}:${H(a2)}`);
    if (expected !== p.response) return fail(false, p);
    if (qop !== "") nonce.lastNc = parseInt(p.nc, 16);
    nonce.uses++;
    if (nonce.uses > (this.opts.nonceUses ?? Infinity)) return fail(true, p);
    this.accepted.push(p);
    const info: string[] = [];
    if (this.opts.nextnonce) info.push(`nextnonce="${this.newNonce()}"`);
    if (this.opts.rspauth && qop === "auth") {
      const rsp = H(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${qop}:${H(`:${p.uri}`)}`);
      info.push(`rspauth="${this.opts.rspauth === "wrong" ? H("nope") : rsp}"`, `qop=${qop}`, `nc=${p.nc}`, `cnonce="${p.cnonce}"`);
    }
    return { ok: true, stale: false, params: p, authInfo: info.length > 0 ? info.join(", ") : null };
  }
}

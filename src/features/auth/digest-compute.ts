/**
 * The Digest computations of RFC 7616 §3.4, as pure functions (tested against the RFC's
 * own examples). Every string is hashed as UTF-8, which is what RFC 7616 specifies for
 * `charset=UTF-8` and what servers that do not say anything in practice accept too.
 */
import { createHash, randomFillSync } from "node:crypto";

export type DigestHash = "md5" | "sha256" | "sha512-256";

export interface DigestAlgorithm {
  /** The `algorithm` token to send back (the server's own spelling when it was valid). */
  token: string;
  hash: DigestHash;
  /** A `-sess` variant: HA1 also covers the nonce and cnonce. */
  sess: boolean;
  /** Its rank when a server offers several Digest challenges. */
  strength: number;
}

const BASES: Record<string, { hash: DigestHash; strength: number }> = {
  MD5: { hash: "md5", strength: 30 },
  "SHA-256": { hash: "sha256", strength: 40 },
  "SHA-512-256": { hash: "sha512-256", strength: 50 },
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The algorithm a challenge names (MD5 when absent, RFC 7616 §3.3), or null when unknown. */
export function digestAlgorithm(value: string | undefined): DigestAlgorithm | null {
  const raw = (value ?? "MD5").trim();
  const upper = raw.toUpperCase();
  const sess = upper.endsWith("-SESS");
  const base = BASES[sess ? upper.slice(0, -5) : upper];
  if (base === undefined) return null;
  return { token: TOKEN.test(raw) ? raw : upper, hash: base.hash, sess, strength: base.strength };
}

export function H(hash: DigestHash, data: string | Uint8Array): string {
  return createHash(hash).update(data).digest("hex");
}

/** HA1 = H(user:realm:pass), and for `-sess` H(HA1:nonce:cnonce) (RFC 7616 §3.4.2). */
export function digestHA1(hash: DigestHash, sess: boolean, username: string, realm: string, password: string, nonce: string, cnonce: string): string {
  const ha1 = H(hash, `${username}:${realm}:${password}`);
  return sess ? H(hash, `${ha1}:${nonce}:${cnonce}`) : ha1;
}

/** HA2 = H(method:uri), and for `auth-int` H(method:uri:H(body)) (RFC 7616 §3.4.3). */
export function digestHA2(hash: DigestHash, method: string, uri: string, qop: string, body: string | Uint8Array | null): string {
  if (qop === "auth-int") return H(hash, `${method}:${uri}:${H(hash, body ?? "")}`);
  return H(hash, `${method}:${uri}`);
}

/** The request-digest; without qop it is RFC 2069's H(HA1:nonce:HA2). */
export function digestResponse(hash: DigestHash, ha1: string, nonce: string, nc: string, cnonce: string, qop: string, ha2: string): string {
  if (qop === "") return H(hash, `${ha1}:${nonce}:${ha2}`);
  return H(hash, `${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
}

/** The `userhash=true` username: H(user:realm) (RFC 7616 §3.4.4). */
export function digestUserhash(hash: DigestHash, username: string, realm: string): string {
  return H(hash, `${username}:${realm}`);
}

// One randomFillSync per 256 cnonces: a crypto call per request costs more than the hashes.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** A fresh client nonce: 16 random bytes, base64url (no characters that need quoting). */
export function newCnonce(): string {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.toString("base64url", poolOffset, poolOffset + 16);
  poolOffset += 16;
  return out;
}

/** `nc` as RFC 7616 wants it: 8 lower-case hex digits. */
export function formatNc(n: number): string {
  return n.toString(16).padStart(8, "0");
}

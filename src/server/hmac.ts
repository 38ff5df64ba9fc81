/**
 * HMAC-SHA256 of a session id, for the per-request cookie check.
 *
 * Why not only `crypto.createHmac`: for a 43-byte id an HMAC is two SHA-256 block
 * compressions, but `createHmac` builds a stream object, a native context and two
 * Buffers per call, which costs several times the hashing itself on every request. Here
 * the key's inner and outer pad blocks are compressed once per secret (as any HMAC
 * implementation may precompute), and each request runs exactly the two remaining
 * compressions on 32-bit integers, allocating nothing.
 *
 * This is plain FIPS 180-4 SHA-256 and RFC 2104 HMAC, no shortcut: every request still
 * computes the full HMAC of its id under every secret. Its output is checked against
 * `node:crypto` when a key is set up (`HmacSha256Key.selfTest`), and callers fall back to
 * `createHmac` if that check ever fails or the message does not fit one block.
 * The code has no secret-dependent branches or table lookups (SHA-256 has none).
 */
import { createHash, createHmac, randomBytes, type KeyObject } from "node:crypto";

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

/** Message schedule, reused by every compression (single-threaded, never re-entered). */
const W = new Int32Array(64);
const INNER = new Int32Array(8);

/** One SHA-256 compression of the block in W[0..15], from `state` into `out`. */
function compress(state: Int32Array, out: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15];
    const w2 = W[t - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
  }
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let f = state[5];
  let g = state[6];
  let h = state[7];
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[t] + W[t]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = (state[0] + a) | 0;
  out[1] = (state[1] + b) | 0;
  out[2] = (state[2] + c) | 0;
  out[3] = (state[3] + d) | 0;
  out[4] = (state[4] + e) | 0;
  out[5] = (state[5] + f) | 0;
  out[6] = (state[6] + g) | 0;
  out[7] = (state[7] + h) | 0;
}

/** The longest message that fits one block after the ipad block (55 bytes + 0x80 + length). */
export const MAX_FAST_MESSAGE = 55;

/** One HMAC-SHA256 key with its pad blocks already compressed. */
export class HmacSha256Key {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  readonly #native: KeyObject;
  /** False if the self-test disagreed with node:crypto: then every call uses createHmac. */
  readonly fast: boolean;

  constructor(key: KeyObject) {
    this.#native = key;
    let raw = key.export();
    if (raw.length > 64) raw = createHash("sha256").update(raw).digest();
    const block = Buffer.alloc(64);
    raw.copy(block);
    for (const [pad, state] of [[0x36, this.#inner], [0x5c, this.#outer]] as const) {
      for (let i = 0; i < 16; i++) W[i] = block.readInt32BE(i * 4) ^ (pad * 0x01010101);
      compress(IV, state);
    }
    this.fast = this.#selfTest();
  }

  /**
   * HMAC of the first `length` characters of `text`, which must be ASCII (callers check
   * the shape first) and at most `MAX_FAST_MESSAGE` long, into `out` (8 big-endian words).
   */
  macAscii(text: string, length: number, out: Int32Array): void {
    W.fill(0, 0, 16);
    for (let i = 0; i < length; i++) W[i >> 2] |= text.charCodeAt(i) << (24 - 8 * (i & 3));
    W[length >> 2] |= 0x80 << (24 - 8 * (length & 3));
    W[15] = (64 + length) * 8;
    compress(this.#inner, INNER);
    for (let i = 0; i < 8; i++) W[i] = INNER[i];
    W[8] = 0x80000000 | 0;
    W.fill(0, 9, 15);
    W[15] = (64 + 32) * 8;
    compress(this.#outer, out);
  }

  /** The HMAC as a Buffer, for any message (the signing path, rare). */
  mac(message: string): Buffer {
    if (this.fast && message.length <= MAX_FAST_MESSAGE && isAscii(message)) {
      const words = new Int32Array(8);
      this.macAscii(message, message.length, words);
      const out = Buffer.allocUnsafe(32);
      for (let i = 0; i < 8; i++) out.writeInt32BE(words[i], i * 4);
      return out;
    }
    return createHmac("sha256", this.#native).update(message).digest();
  }

  /** Known-answer check against node:crypto for a few message lengths. */
  #selfTest(): boolean {
    const words = new Int32Array(8);
    for (const length of [0, 1, 43, 52, 55]) {
      const message = randomBytes(length).toString("base64url").slice(0, length).padEnd(length, "A");
      const expected = createHmac("sha256", this.#native).update(message).digest();
      this.macAscii(message, length, words);
      for (let i = 0; i < 8; i++) if (words[i] !== expected.readInt32BE(i * 4)) return false;
    }
    return true;
  }
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** base64url character → 6-bit value (-1 for anything else). */
const B64 = new Int8Array(128).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".split("").forEach((ch, i) => (B64[ch.charCodeAt(0)] = i));

/** Whether `text[start, start + length)` is all base64url characters (same as /^[A-Za-z0-9_-]*$/). */
export function isBase64Url(text: string, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || B64[c] < 0) return false;
  }
  return true;
}

/**
 * Decodes the 43 base64url characters of `text` starting at `start` into 8 big-endian
 * words (32 bytes; the last character's 2 spare bits are ignored, as Buffer.from does).
 * Returns false if a character is not base64url.
 */
export function decodeMac43(text: string, start: number, out: Int32Array): boolean {
  let acc = 0;
  let bits = 0;
  let word = 0;
  let bytes = 0;
  let bad = 0;
  for (let i = 0; i < 43; i++) {
    const c = text.charCodeAt(start + i);
    const v = c < 128 ? B64[c] : -1;
    bad |= v;
    acc = ((acc << 6) | (v & 63)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      word = (word << 8) | ((acc >>> bits) & 0xff);
      if ((++bytes & 3) === 0) out[(bytes >> 2) - 1] = word;
    }
  }
  return bad >= 0;
}

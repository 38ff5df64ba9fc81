/**
 * Diffusion's `Credentials`: a type and some bytes. A string is PLAIN_PASSWORD (type 1),
 * bytes are CUSTOM (type 2), nothing is NONE (type 0). `password` is the form Diffusion
 * puts on the wire: base64 of [type byte, unsigned LEB128 length, bytes], so
 * `new Credentials("bar").password === "AQNiYXI="`.
 *
 * The secret never shows in `util.inspect`, `JSON.stringify` or `String()`.
 */
import { inspect } from "node:util";
import { InvalidArgumentError } from "../errors.js";

export type CredentialsType = "NONE" | "PLAIN_PASSWORD" | "CUSTOM";
const TYPE_BYTE: Record<CredentialsType, number> = { NONE: 0, PLAIN_PASSWORD: 1, CUSTOM: 2 };
const TYPE_NAME = ["NONE", "PLAIN_PASSWORD", "CUSTOM"] as const;

/** Largest credentials we accept when decoding (a guard against absurd lengths). */
const MAX_CREDENTIALS_BYTES = 64 * 1024;

export class Credentials {
  readonly type: CredentialsType;
  readonly #bytes: Uint8Array;

  constructor(value?: string | Uint8Array | null) {
    if (value === undefined || value === null || value.length === 0) {
      this.type = "NONE";
      this.#bytes = new Uint8Array(0);
    } else if (typeof value === "string") {
      this.type = "PLAIN_PASSWORD";
      this.#bytes = new Uint8Array(Buffer.from(value, "utf8"));
    } else if (value instanceof Uint8Array) {
      this.type = "CUSTOM";
      this.#bytes = new Uint8Array(value);
    } else {
      throw new InvalidArgumentError("credentials must be a string, a Uint8Array or empty");
    }
  }

  /** The credentials in Diffusion's wire form (base64 of type, LEB128 length, bytes). */
  get password(): string {
    const header = [TYPE_BYTE[this.type], ...leb128(this.#bytes.length)];
    return Buffer.concat([Buffer.from(header), this.#bytes]).toString("base64");
  }

  /** The secret bytes. Deliberately a method, not a property, so it is never enumerated. */
  bytes(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  /** The secret as text (for PLAIN_PASSWORD). */
  text(): string {
    return Buffer.from(this.#bytes).toString("utf8");
  }

  /** Parses the wire form; throws InvalidArgumentError on anything malformed. */
  static fromPassword(password: string): Credentials {
    if (typeof password !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(password)) {
      throw new InvalidArgumentError("credentials are not base64");
    }
    const buf = Buffer.from(password, "base64");
    const typeByte = buf[0];
    if (buf.length < 2 || typeByte === undefined || typeByte > 2) throw new InvalidArgumentError("credentials have an unknown type");
    let length = 0;
    let shift = 0;
    let i = 1;
    for (;;) {
      const b = buf[i++];
      if (b === undefined || shift > 21) throw new InvalidArgumentError("credentials length is malformed");
      length |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    if (length > MAX_CREDENTIALS_BYTES || buf.length - i !== length) throw new InvalidArgumentError("credentials length does not match");
    const bytes = buf.subarray(i);
    const type = TYPE_NAME[typeByte]!;
    if (type === "NONE") {
      if (length !== 0) throw new InvalidArgumentError("NONE credentials carry bytes");
      return new Credentials();
    }
    return type === "PLAIN_PASSWORD" ? new Credentials(bytes.toString("utf8")) : new Credentials(new Uint8Array(bytes));
  }

  toString(): string {
    return `Credentials(${this.type})`;
  }

  toJSON(): { type: CredentialsType } {
    return { type: this.type };
  }

  [inspect.custom](): string {
    return `Credentials { type: '${this.type}', value: [redacted] }`;
  }
}

function leb128(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

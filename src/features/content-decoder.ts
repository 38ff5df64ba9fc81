/**
 * ContentDecoder (libsoup's SoupContentDecoder): advertises Accept-Encoding and decodes
 * gzip, x-gzip, deflate (zlib-wrapped or raw, detected from the first bytes), br, and zstd
 * where the runtime has it. Corrupt or truncated bodies fail with DECODE_FAILED instead of
 * yielding a silently short body. More than MAX_CONTENT_CODINGS stacked codings are refused
 * with TOO_MANY_CODINGS before any decoder is built (each costs a zlib stream and its window).
 */
import { Transform, type TransformCallback, type Readable } from "node:stream";
import zlib from "node:zlib";
import { DecodeError } from "../errors.js";
import { FeatureOrder, type SessionFeature } from "../http/feature.js";
import type { Message } from "../http/message.js";

/**
 * How many stacked codings a response may have. Real servers send one (rarely two); curl
 * refuses more than 5 (MAX_ENCODE_STACK) and browsers have similar caps. Without a cap,
 * `Content-Encoding: gzip` repeated 2,000 times built 2,000 zlib streams (+17.8 MiB).
 */
export const MAX_CONTENT_CODINGS = 5;

/** The response stacks more content codings than MAX_CONTENT_CODINGS (`TOO_MANY_CODINGS`). */
export class TooManyCodingsError extends DecodeError {
  override readonly code: string = "TOO_MANY_CODINGS";
  /** How many codings (other than identity) the response listed. */
  readonly count: number;
  constructor(count: number) {
    super(`The response lists ${count} content codings; at most ${MAX_CONTENT_CODINGS} are decoded`);
    this.count = count;
  }
}

const zstd = (zlib as unknown as { createZstdDecompress?: () => Transform }).createZstdDecompress;

/** Codings this runtime can decode. */
export const SUPPORTED_ENCODINGS: readonly string[] = ["gzip", "x-gzip", "deflate", "br", ...(zstd ? ["zstd"] : [])];

function decoderFor(coding: string, first: Buffer): Transform | null {
  switch (coding) {
    case "gzip":
    case "x-gzip":
      return zlib.createGunzip();
    case "deflate": {
      // RFC 9110 says zlib format, but many servers send raw deflate: check the zlib header.
      const zlibHeader = first.length >= 2 && (first[0] & 0x0f) === 8 && ((first[0] << 8) | first[1]) % 31 === 0;
      return zlibHeader ? zlib.createInflate() : zlib.createInflateRaw();
    }
    case "br":
      return zlib.createBrotliDecompress();
    case "zstd":
      return zstd ? zstd() : null;
    default:
      return null;
  }
}

/**
 * Decodes a chain of codings lazily: nothing is created until the first byte arrives, so
 * an empty body (HEAD, 204, 304) passes through without a spurious "unexpected end".
 */
class LazyDecoder extends Transform {
  readonly #codings: string[];
  #head: Buffer[] = [];
  #headLen = 0;
  #chain: Transform[] | null = null;
  #sawData = false;

  constructor(codings: string[]) {
    super();
    this.#codings = codings;
  }

  #build(first: Buffer): void {
    const chain: Transform[] = [];
    // Content-Encoding lists codings in the order applied: decode in reverse.
    for (const coding of [...this.#codings].reverse()) {
      // Only the outermost decoder sees `first`; an inner deflate has to look at its own
      // first bytes (the outer decoder's output) to tell zlib from raw deflate.
      const d =
        chain.length === 0 ? decoderFor(coding, first) : coding === "deflate" ? new LazyDecoder(["deflate"]) : decoderFor(coding, Buffer.alloc(0));
      if (d === null) throw new DecodeError(`Unsupported content coding "${coding}"`);
      chain.push(d);
    }
    for (let i = 0; i < chain.length - 1; i++) chain[i].pipe(chain[i + 1]);
    const last = chain[chain.length - 1];
    last.on("data", (c: Buffer) => {
      if (!this.push(c)) for (const d of chain) d.pause();
    });
    for (const d of chain)
      d.on("error", (err) => this.destroy(new DecodeError(`Could not decode the ${this.#codings.join(", ")} body: ${err.message}`, { cause: err })));
    this.#chain = chain;
  }

  override _read(size: number): void {
    if (this.#chain) for (const d of this.#chain) d.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#sawData = this.#sawData || chunk.length > 0;
    if (this.#chain === null) {
      this.#head.push(chunk);
      this.#headLen += chunk.length;
      if (this.#headLen < 2) return cb();
      chunk = Buffer.concat(this.#head);
      this.#head = [];
      try {
        this.#build(chunk);
      } catch (err) {
        return cb(err as Error);
      }
    }
    const first = this.#chain![0];
    if (first.write(chunk)) cb();
    else first.once("drain", () => cb());
  }

  override _flush(cb: TransformCallback): void {
    if (this.#chain === null) {
      if (!this.#sawData) return cb();
      try {
        this.#build(Buffer.concat(this.#head));
      } catch (err) {
        return cb(err as Error);
      }
      this.#chain![0].write(Buffer.concat(this.#head));
    }
    const chain = this.#chain!;
    const last = chain[chain.length - 1];
    let done = false;
    const finish = (err?: Error | null) => {
      if (done) return;
      done = true;
      cb(err ?? null);
    };
    last.once("end", () => finish());
    last.once("error", (err) => finish(new DecodeError(`Could not decode the body: ${err.message}`, { cause: err })));
    chain[0].end();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (this.#chain) for (const d of this.#chain) d.destroy();
    cb(err);
  }
}

export class ContentDecoder implements SessionFeature {
  readonly order = FeatureOrder.DECODER;
  /** The Accept-Encoding value sent when the message has none. */
  readonly acceptEncoding = SUPPORTED_ENCODINGS.filter((e) => e !== "x-gzip").join(", ");

  beforeSend(msg: Message): void {
    if (!msg.requestHeaders.has("Accept-Encoding")) msg.requestHeaders.set("Accept-Encoding", this.acceptEncoding);
  }

  wrapBody(msg: Message, body: Readable): Readable {
    const header = msg.responseHeaders.get("Content-Encoding");
    if (header === null || msg.method === "HEAD") return body;
    const codings = header
      .split(",")
      .map((c) => c.trim().toLowerCase())
      .filter((c) => c !== "" && c !== "identity");
    if (codings.length === 0) return body;
    // Refused before anything is built. Thrown from the hook, so send() rejects with it (a
    // sessionkit error passes through the session unwrapped) and the connection is dropped.
    if (codings.length > MAX_CONTENT_CODINGS) throw new TooManyCodingsError(codings.length);
    // An unknown coding: hand the body over undecoded (libsoup does the same) rather than fail.
    if (!codings.every((c) => SUPPORTED_ENCODINGS.includes(c))) return body;
    const decoder = new LazyDecoder(codings);
    body.on("error", (err) => decoder.destroy(err));
    decoder.on("close", () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
    });
    return body.pipe(decoder);
  }
}

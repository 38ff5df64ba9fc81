/** The tee the Cache puts on a storable body: the caller streams it, the cache keeps a copy. */
import { Transform, type TransformCallback } from "node:stream";

/**
 * Passes every chunk on unchanged and keeps a copy up to `limit` bytes; when the body ends it
 * hands the copy over (or null when the body was bigger than the limit). A body that errors
 * or is abandoned is never handed over.
 */
export class StoringTee extends Transform {
  #chunks: Buffer[] | null = [];
  #size = 0;
  readonly #limit: number;
  readonly #done: (bytes: Uint8Array | null) => void;

  constructor(limit: number, done: (bytes: Uint8Array | null) => void) {
    super();
    this.#limit = limit;
    this.#done = done;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#chunks !== null) {
      this.#size += chunk.length;
      if (this.#size > this.#limit) {
        this.#chunks = null; // too big: stop copying, keep streaming
        this.#done(null);
      } else this.#chunks.push(chunk);
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.#chunks !== null) {
      const buf = Buffer.concat(this.#chunks, this.#size);
      this.#chunks = null;
      this.#done(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    }
    cb();
  }
}

/**
 * Reading the first bytes of a stream without taking them away from whoever reads it next:
 * `peekStream` collects up to `limit` bytes, and `PrefixedReadable` gives a stream that yields
 * those bytes first and then the rest of the source, with backpressure (the source is paused
 * whenever the consumer's buffer is full).
 */
import { Readable } from "node:stream";
import { ProtocolError } from "../../errors.js";

const truncated = () => new ProtocolError("PROTOCOL_ERROR", "The response body closed before it ended");

export interface Peeked {
  chunks: Buffer[];
  length: number;
  /** The source ended within the peeked bytes. */
  ended: boolean;
  /** The source failed while peeking; the error is replayed after the peeked bytes. */
  error: Error | null;
}

export function peekStream(source: Readable, limit: number): Promise<Peeked> {
  return new Promise((resolve) => {
    const result: Peeked = { chunks: [], length: 0, ended: false, error: null };
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("error", onError);
      source.off("close", onClose);
      resolve(result);
    };
    // 'data' + pause() rather than 'readable': after a 'readable' listener is removed, Node
    // only restores flowing mode on a later tick, and a resume() before that is lost.
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      result.chunks.push(buf);
      result.length += buf.length;
      if (result.length >= limit) {
        source.pause();
        finish();
      }
    };
    const onEnd = () => {
      result.ended = true;
      finish();
    };
    const onError = (err: Error) => {
      result.error = err;
      finish();
    };
    const onClose = () => {
      if (!result.ended && result.error === null) result.error = source.errored ?? truncated();
      finish();
    };
    if (source.readableEnded) return onEnd();
    if (source.errored) return onError(source.errored);
    source.on("data", onData);
    source.once("end", onEnd);
    source.once("error", onError);
    source.once("close", onClose);
  });
}

/** Yields the peeked chunks, then the rest of `source`. Destroying it destroys the source. */
export class PrefixedReadable extends Readable {
  readonly #source: Readable;
  #head: Buffer[];
  #attached = false;
  readonly #peeked: Peeked;

  constructor(source: Readable, peeked: Peeked) {
    super();
    this.#source = source;
    this.#head = peeked.chunks;
    this.#peeked = peeked;
  }

  override _read(): void {
    while (this.#head.length > 0) {
      const c = this.#head.shift()!;
      if (!this.push(c)) return;
    }
    if (this.#peeked.error !== null) {
      this.destroy(this.#peeked.error);
      return;
    }
    // The source may have ended right after the peek's window filled (its 'end' can fire in
    // the same read, after the peek stopped listening): then there is nothing left to wait for.
    if (this.#peeked.ended || this.#source.readableEnded) {
      this.push(null);
      return;
    }
    if (this.#source.errored || this.#source.destroyed) {
      this.destroy(this.#source.errored ?? truncated());
      return;
    }
    if (!this.#attached) this.#attach();
    this.#source.resume();
  }

  #attach(): void {
    this.#attached = true;
    const src = this.#source;
    src.on("data", (c: Buffer) => {
      if (!this.push(c)) src.pause();
    });
    src.once("end", () => this.push(null));
    src.once("error", (err) => this.destroy(err));
    src.once("close", () => {
      if (!src.readableEnded && !this.destroyed) this.destroy(src.errored ?? truncated());
    });
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (!this.#source.destroyed) this.#source.destroy();
    cb(err);
  }
}

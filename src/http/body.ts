/**
 * The response body that `session.send()` resolves to: an async iterable of Uint8Array
 * chunks (what the issue asks for) that also offers the usual readers. It wraps the Node
 * Readable at the end of the feature chain; errors are mapped to typed sessionkit errors.
 */
import { Readable } from "node:stream";
import { AbortError } from "../errors.js";
import { mapTransportError } from "./transport-errors.js";

/** What the finalizer of a dropped ResponseBody needs; it must not reference the body itself. */
interface BodyState {
  stream: Readable;
  used: boolean;
}

/**
 * A body its caller dropped without reading or cancelling it would hold its pooled
 * connection for as long as the server keeps the socket open, and with the default two
 * connections per host the third request to that origin would wait behind it. When a
 * ResponseBody nobody touched is garbage-collected, its stream is destroyed, which drops
 * the connection (undici's fetch does the same for unread Response bodies).
 */
const unread = new FinalizationRegistry<BodyState>((state) => {
  if (!state.used && !state.stream.destroyed) state.stream.destroy();
});

export class ResponseBody implements AsyncIterable<Uint8Array> {
  readonly #state: BodyState;

  constructor(stream: Readable) {
    this.#state = { stream, used: false };
    unread.register(this, this.#state);
  }

  get #stream(): Readable {
    return this.#state.stream;
  }

  get #used(): boolean {
    return this.#state.used;
  }

  set #used(v: boolean) {
    this.#state.used = v;
  }

  /** The underlying Node stream (for piping). Reading it directly marks the body used. */
  get stream(): Readable {
    this.#used = true;
    return this.#stream;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    this.#take();
    try {
      for await (const chunk of this.#stream) yield chunk as Uint8Array;
    } catch (err) {
      throw mapTransportError(err, "body");
    }
  }

  /** Reads the whole body. */
  async bytes(): Promise<Uint8Array> {
    this.#take();
    return readAll(this.#stream);
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  async json<T = unknown>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /** Discards the rest of the body; the connection is closed rather than drained. */
  cancel(): void {
    this.#used = true;
    this.#stream.destroy();
  }

  #take(): void {
    if (this.#used) throw new TypeError("The response body was already read");
    this.#used = true;
  }
}

/** Collects a stream into one Uint8Array with plain listeners (faster than for-await). */
export function readAll(stream: Readable): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    });
    stream.once("end", () => {
      const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      resolve(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
    });
    stream.once("error", (err) => reject(mapTransportError(err, "body")));
    stream.once("close", () => {
      if (!stream.readableEnded)
        reject(stream.errored ? mapTransportError(stream.errored, "body") : new AbortError("The body was closed before it ended"));
    });
  });
}

/** What `readUpTo` found: the whole body (it ended within the limit), or a stream of it all. */
export type ReadUpTo = { complete: true; bytes: Uint8Array } | { complete: false; stream: Readable };

/**
 * Reads a body when it is at most `limit` bytes. Past the limit it stops reading and gives
 * back a stream that yields the bytes seen and then the rest, so nothing is lost either way.
 * Used for the runner's bounded body hook and for capped reads of login answers.
 */
export function readUpTo(stream: Readable, limit: number): Promise<ReadUpTo> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > limit) {
        stream.pause();
        cleanup();
        resolve({ complete: false, stream: Readable.from(replay(chunks, stream), { objectMode: false }) });
      }
    };
    const onEnd = () => {
      cleanup();
      const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
      resolve({ complete: true, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(mapTransportError(err, "body"));
    };
    const onClose = () => {
      if (stream.readableEnded) return;
      cleanup();
      reject(stream.errored ? mapTransportError(stream.errored, "body") : new AbortError("The body was closed before it ended"));
    };
    if (stream.readableEnded) return onEnd();
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
    stream.once("close", onClose);
  });
}

async function* replay(head: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* head;
  // Leaving this loop early (the reader destroyed the stream) destroys `rest`, which ends the
  // message in the session and frees its connection.
  for await (const c of rest) yield c as Buffer;
}

/** A stream of `bytes` (a body already read, or a feature's synthetic body). */
export function bytesStream(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)], { objectMode: false });
}

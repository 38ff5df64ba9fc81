/**
 * Counting a response body as the caller reads it: download progress (bytes on the wire and
 * decoded bytes, with the total when the server said) and `maxResponseSize`, counted on the
 * wire bytes and on the decoded bytes, so a gzip bomb (a few MB that inflate to GBs) ends
 * with ResponseTooLargeError while memory stays bounded. Nothing here runs for a message
 * without a limit and without a progress listener: the runner does not call it then.
 */
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { SessionKitError } from "../errors.js";
import type { Message } from "./message.js";

/** The response body is larger than `maxResponseSize` (`RESPONSE_TOO_LARGE`). */
export class ResponseTooLargeError extends SessionKitError {
  /** The limit, in bytes. */
  readonly limit: number;
  constructor(limit: number, what: "declared" | "wire" | "decoded") {
    const why = what === "declared" ? "its Content-Length is over" : what === "wire" ? "more bytes arrived than" : "it decoded to more bytes than";
    super("RESPONSE_TOO_LARGE", `The response body is too large: ${why} maxResponseSize (${limit} bytes)`);
    this.limit = limit;
  }
}

export interface DownloadProgress {
  /** Bytes of the body received from the network (before decoding). */
  wireBytes: number;
  /** Bytes of the body as the caller gets it (after decoding). */
  decodedBytes: number;
  /** The Content-Length of the body on the wire, when the server sent one (null: unknown). */
  total: number | null;
}

export interface UploadProgress {
  /** Request body bytes handed to the connection so far. */
  bytes: number;
  /** The request body's length when known (null for streams). */
  total: number | null;
}

/** The response's declared length, or null. */
export function declaredLength(msg: Message): number | null {
  const v = msg.responseHeaders.getOne("Content-Length");
  if (v === null || !/^\d{1,15}$/.test(v.trim())) return null;
  return Number(v);
}

class Meter extends Transform {
  readonly #msg: Message;
  readonly #limit: number;
  readonly #progress: boolean;
  readonly #state: DownloadProgress;
  /** Nothing decoded the body: each byte the caller reads is also a wire byte. */
  readonly #undecoded: boolean;

  constructor(msg: Message, limit: number, progress: boolean, state: DownloadProgress, undecoded: boolean) {
    super();
    this.#msg = msg;
    this.#limit = limit;
    this.#progress = progress;
    this.#state = state;
    this.#undecoded = undecoded;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const s = this.#state;
    s.decodedBytes += chunk.length;
    if (this.#undecoded) s.wireBytes += chunk.length;
    if (this.#limit > 0 && s.decodedBytes > this.#limit) {
      cb(new ResponseTooLargeError(this.#limit, "decoded"));
      return;
    }
    if (this.#progress) this.#msg.emit("download-progress", { ...s });
    cb(null, chunk);
  }
}

/**
 * Wraps `body` (what the caller reads) to count it; `raw` is the body as it came off the
 * wire (the same stream when nothing decoded it). Destroying either side destroys the other.
 */
export function meter(msg: Message, raw: Readable, body: Readable, limit: number, progress: boolean): Readable {
  const state: DownloadProgress = { wireBytes: 0, decodedBytes: 0, total: declaredLength(msg) };
  const counted = new Meter(msg, limit, progress, state, raw === body);
  if (raw !== body) {
    // A decoded body: count the wire bytes where they arrive (raw already flows into the decoder).
    raw.on("data", (c: Buffer) => {
      state.wireBytes += c.length;
      if (limit > 0 && state.wireBytes > limit) counted.destroy(new ResponseTooLargeError(limit, "wire"));
    });
  }
  body.on("error", (err) => counted.destroy(err));
  counted.on("close", () => {
    if (!body.destroyed && !body.readableEnded) body.destroy();
  });
  return body.pipe(counted);
}

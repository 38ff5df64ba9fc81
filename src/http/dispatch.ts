/**
 * One HTTP round trip on a pooled undici Client, with a lean dispatch handler of our own.
 *
 * Why not `client.request()`: it wraps `Dispatcher.dispatch` in an AsyncResource handler,
 * parses the response headers into an object (which the session then turned back into a
 * list), and builds its own Readable subclass with content-type/length bookkeeping the
 * session never uses. The session needs only the status line, the raw header list and a
 * plain Readable body with backpressure and abort, so that is all this handler makes.
 * This is undici's own dispatch contract (the handler callbacks its api-request.js uses),
 * not a second HTTP implementation: undici still parses, frames and pools.
 */
import { Readable } from "node:stream";
import type { Client, Dispatcher } from "undici";
import { AbortError, NetworkError } from "../errors.js";
import type { Cancellation } from "./cancellation.js";

export interface RawResponse {
  status: number;
  statusText: string;
  /** Response header names and values, alternating, as sent (latin1). */
  headers: string[];
  body: Readable;
}

/** The response body: pushes what undici gives, resumes undici when read, aborts when destroyed early. */
class ResponseStream extends Readable {
  readonly #resume: () => void;
  readonly #abort: (err: Error) => void;

  constructor(resume: () => void, abort: (err: Error) => void) {
    super();
    this.#resume = resume;
    this.#abort = abort;
  }

  override _read(): void {
    this.#resume();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    // Destroyed before its end: stop the request (undici then closes the connection).
    if (!this.readableEnded) this.#abort(err ?? new AbortError("The response body was closed before it ended"));
    cb(err);
  }
}

class SessionHandler implements Dispatcher.DispatchHandler {
  #resolve: ((r: RawResponse) => void) | null;
  #reject: ((e: Error) => void) | null;
  readonly #signal: Cancellation;
  #abort: ((err: Error) => void) | null = null;
  #body: ResponseStream | null = null;
  #listening = false;

  constructor(resolve: (r: RawResponse) => void, reject: (e: Error) => void, signal: Cancellation) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
  }

  readonly #onAbort = (): void => {
    const reason = this.#signal.reason instanceof Error ? this.#signal.reason : new AbortError();
    if (this.#body !== null) this.#body.destroy(reason);
    else this.#abort?.(reason);
  };

  onConnect(abort: (err?: Error) => void): void {
    if (this.#signal.aborted) {
      abort(this.#signal.reason instanceof Error ? this.#signal.reason : new AbortError());
      return;
    }
    this.#abort = abort as (err: Error) => void;
    this.#signal.addEventListener("abort", this.#onAbort);
    this.#listening = true;
  }

  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx informational answers (100 Continue, 103 Early Hints) are not the response.
    if (status < 200) return true;
    const headers = new Array<string>(rawHeaders.length);
    for (let i = 0; i < rawHeaders.length; i++) headers[i] = rawHeaders[i].toString("latin1");
    const body = new ResponseStream(resume, this.#abort!);
    this.#body = body;
    const resolve = this.#resolve!;
    this.#resolve = this.#reject = null;
    resolve({ status, statusText, headers, body });
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.#body!.push(chunk);
  }

  onComplete(): void {
    this.#unlisten();
    this.#body!.push(null);
  }

  onError(cause: Error): void {
    this.#unlisten();
    const err = h2StreamError(cause) ?? cause;
    const reject = this.#reject;
    if (reject !== null) {
      this.#resolve = this.#reject = null;
      reject(err);
      return;
    }
    // After the headers: the reader of the body gets the error (queued, as undici does, so
    // data already pushed is delivered first).
    const body = this.#body;
    if (body !== null && !body.destroyed) queueMicrotask(() => body.destroy(err));
  }

  #unlisten(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#signal.removeEventListener("abort", this.#onAbort);
  }
}

/**
 * HTTP/2 failures undici reports as informational or Node stream errors, as typed errors:
 * a reset stream (RST_STREAM from the server, or a stream closed before its end) is
 * STREAM_RESET, a connection ended by GOAWAY is GOAWAY. Null for anything else (HTTP/1.1
 * errors never match).
 */
export function h2StreamError(err: unknown): NetworkError | null {
  if (!(err instanceof Error) || err instanceof NetworkError) return null;
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const msg = err.message;
  if (/"GOAWAY"/.test(msg) || code === "ERR_HTTP2_GOAWAY_SESSION") {
    return new NetworkError("GOAWAY", "The server sent GOAWAY (HTTP/2) before this request was complete", { cause: err });
  }
  if (
    code === "ERR_HTTP2_STREAM_ERROR" ||
    code === "ERR_HTTP2_STREAM_CANCEL" ||
    (code === "UND_ERR_INFO" && /^HTTP\/2: (stream|"stream error")/.test(msg))
  ) {
    return new NetworkError("STREAM_RESET", `The HTTP/2 stream was reset: ${msg}`, { cause: err });
  }
  return null;
}

/** Sends one request on `client` and resolves at the response headers. */
export function roundTrip(client: Client, options: Dispatcher.DispatchOptions, signal: Cancellation): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    client.dispatch(options, new SessionHandler(resolve, reject, signal));
  });
}

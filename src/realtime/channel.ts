/**
 * The reliable, ordered message stream inside a session, the same on both ends: numbers
 * outgoing frames, keeps them until acknowledged, drops replayed duplicates, refuses
 * gaps, dispatches to handlers and matches responses to requests. It survives socket
 * changes: `attach()` a new socket's writer, `resume(peerAck)` to replay what the peer
 * missed, `detach()` when the socket goes.
 */
import { SessionKitError } from "../errors.js";
import { RemoteHandlerError, RequestTimeoutError } from "./errors.js";
import { InvalidValueError, messageBody, responseBody, sequencedText, type AckFrame, type SequencedFrame, type Value } from "./protocol.js";
import { ReplayBuffer } from "./replay-buffer.js";

export type Handler = (value: Value, path: string) => unknown;

export interface ChannelOptions {
  /** Most unacknowledged outgoing frames kept for replay. */
  replayBufferSize: number;
  /** Send an ack after this many received frames… */
  ackEvery?: number;
  /** …or after this many ms, whichever comes first. */
  ackDelay?: number;
  /** Handles a one-way message. Errors are reported through `onHandlerError`. */
  onMessage: (path: string, value: Value) => void;
  /** Answers a request; a throw becomes an error response. */
  onRequest: (path: string, value: Value) => unknown;
  /** The stream can no longer be gap-free (buffer overflow, gap, bad ack). */
  onLost: (why: string) => void;
  /**
   * Replaces local numbering: the frame body is handed over and comes back later through
   * `pushAssigned` with a number (the cluster numbers server frames in Redis).
   */
  assignSeq?: (body: string) => void;
  /** Called after each in-order inbound frame is accepted (the cluster persists it). */
  onInbound?: (seq: number) => void;
  /** Something failed where no caller can be told (sending an answer). @default ignore */
  onError?: (error: unknown) => void;
}

interface Pending {
  resolve: (value: Value) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class Channel {
  /** Last sequence number given to an outgoing frame. */
  outSeq = 0;
  /** Last sequence number received in order. */
  inSeq = 0;
  readonly buffer: ReplayBuffer;
  readonly #opts: Required<Omit<ChannelOptions, "assignSeq" | "onInbound" | "onError">> & Pick<ChannelOptions, "assignSeq" | "onInbound" | "onError">;
  #write: ((text: string) => void) | null = null;
  #pending = new Map<number, Pending>();
  #unacked = 0;
  #ackTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ChannelOptions) {
    this.#opts = { ackEvery: 128, ackDelay: 20, ...options };
    this.buffer = new ReplayBuffer(options.replayBufferSize);
  }

  get attached(): boolean {
    return this.#write !== null;
  }

  /** Frames sent but not yet acknowledged. */
  get unacknowledged(): number {
    return this.buffer.size;
  }

  /** Uses `write` for output from now on. Call `resume()` next to replay. */
  attach(write: (text: string) => void): void {
    this.#write = write;
  }

  detach(): void {
    this.#write = null;
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  /**
   * The peer has everything up to `peerAck`; send it the rest. Returns false (and sends
   * nothing) when frames it needs are gone.
   */
  resume(peerAck: number): boolean {
    if (!this.buffer.canReplayFrom(peerAck)) return false;
    this.buffer.ack(peerAck);
    const write = this.#write;
    if (write) {
      for (const [seq, text] of this.buffer.entriesAfter(peerAck)) {
        write(text);
        this.buffer.markWritten(seq);
      }
    }
    return true;
  }

  send(path: string, value: Value): void {
    this.#enqueue(messageBody("m", path, value));
  }

  /** Sends a body made by `messageBody("m", …)` (lets the caller check its size first). */
  sendBody(body: string): void {
    this.#enqueue(body);
  }

  request(path: string, value: Value, timeoutMs: number): Promise<Value> {
    return this.requestBody(path, messageBody("q", path, value), timeoutMs);
  }

  /** Sends a body made by `messageBody("q", …)` and resolves to the answer. */
  requestBody(path: string, body: string, timeoutMs: number): Promise<Value> {
    if (this.#opts.assignSeq) throw new TypeError("requests need locally numbered frames");
    const seq = this.outSeq + 1;
    const promise = new Promise<Value>((resolve, reject) => {
      const timer =
        timeoutMs > 0 && Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              this.#pending.delete(seq);
              reject(new RequestTimeoutError(path, timeoutMs));
            }, timeoutMs).unref()
          : undefined;
      this.#pending.set(seq, { resolve, reject, timer });
    });
    this.#enqueue(body);
    return promise;
  }

  #enqueue(body: string): void {
    if (this.#closed) return;
    if (this.#opts.assignSeq) this.#opts.assignSeq(body);
    else this.pushAssigned(this.outSeq + 1, body);
  }

  /** Adds a numbered frame to the stream and writes it when a socket is attached. */
  pushAssigned(seq: number, body: string): void {
    if (this.#closed || seq <= this.outSeq) return; // a duplicate delivery
    if (seq !== this.outSeq + 1) {
      this.#opts.onLost(`outgoing frame ${seq} follows ${this.outSeq}`);
      return;
    }
    this.outSeq = seq;
    const text = sequencedText(seq, body);
    if (!this.buffer.push(seq, text)) {
      this.#opts.onLost("the replay buffer overflowed while disconnected");
      return;
    }
    const write = this.#write;
    if (write) {
      write(text);
      this.buffer.markWritten(seq);
    }
  }

  receiveAck(frame: AckFrame): void {
    if (frame.a > this.outSeq) {
      this.#opts.onLost(`peer acknowledged ${frame.a} but only ${this.outSeq} were sent`);
      return;
    }
    this.buffer.ack(frame.a);
  }

  receive(frame: SequencedFrame): void {
    if (this.#closed) return;
    if (frame.s <= this.inSeq) return; // replayed after a reconnect: already handled
    if (frame.s !== this.inSeq + 1) {
      this.#opts.onLost(`frame ${frame.s} arrived after ${this.inSeq}`);
      return;
    }
    this.inSeq = frame.s;
    this.#opts.onInbound?.(frame.s);
    this.#scheduleAck();
    if (frame.t === "r") {
      const pending = this.#pending.get(frame.c);
      if (!pending) return; // timed out already
      this.#pending.delete(frame.c);
      clearTimeout(pending.timer);
      if (frame.error) pending.reject(new RemoteHandlerError(frame.error.code, frame.error.message));
      else pending.resolve(frame.value ?? null);
    } else if (frame.t === "m") {
      this.#opts.onMessage(frame.p, frame.value);
    } else {
      this.#answer(frame.s, frame.p, frame.value);
    }
  }

  #answer(seq: number, path: string, value: Value): void {
    let result: unknown;
    try {
      result = this.#opts.onRequest(path, value);
    } catch (err) {
      this.#reply(seq, { error: errorInfo(err) });
      return;
    }
    Promise.resolve(result).then(
      (v) => this.#reply(seq, { value: (v === undefined ? null : v) as Value }),
      (err: unknown) => this.#reply(seq, { error: errorInfo(err) }),
    );
  }

  /**
   * Sends the answer to request `seq`. An answer that cannot be encoded (a cycle, a
   * BigInt, nesting too deep for the stack) becomes an INVALID_VALUE error answer, and
   * nothing thrown here escapes as an unhandled rejection.
   */
  #reply(seq: number, result: { value: Value } | { error: { code: string; message: string } }): void {
    try {
      let body: string;
      try {
        body = responseBody(seq, result);
      } catch (err) {
        const problem = err instanceof InvalidValueError ? err.message.replace(/^The value cannot be sent: /, "") : "it could not be encoded";
        body = responseBody(seq, { error: { code: "INVALID_VALUE", message: `The handler's answer cannot be sent: ${problem}` } });
      }
      this.#enqueue(body);
    } catch (err) {
      this.#opts.onError?.(err);
    }
  }

  #scheduleAck(): void {
    if (++this.#unacked >= this.#opts.ackEvery) {
      this.flushAck();
    } else if (!this.#ackTimer) {
      this.#ackTimer = setTimeout(() => this.flushAck(), this.#opts.ackDelay).unref();
    }
  }

  /** Sends the current ack now (if anything is unacknowledged and a socket is attached). */
  flushAck(): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (this.#unacked === 0 || !this.#write) return;
    this.#unacked = 0;
    this.#write(`{"t":"a","a":${this.inSeq}}`);
  }

  /** Ends the stream: pending requests fail with `error`, timers stop. */
  close(error: Error): void {
    this.#closed = true;
    this.detach();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(error);
    }
    this.#pending.clear();
  }
}

function errorInfo(err: unknown): { code: string; message: string } {
  try {
    if (err instanceof SessionKitError) return { code: err.code, message: err.message };
    return { code: "HANDLER_FAILED", message: err instanceof Error ? err.message : String(err) };
  } catch {
    // A thrown object whose message or toString itself throws.
    return { code: "HANDLER_FAILED", message: "The handler failed" };
  }
}

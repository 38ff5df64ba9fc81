/**
 * Recorder: writes every exchange a session has with the network to a HAR 1.2 file, secrets
 * redacted, so a test suite can record once against a real service and replay offline with
 * the Replayer.
 *
 * What an exchange is: one request that went out and the response that came back — each
 * hop of a redirect and each 401 → retry with credentials is its own entry, as in a
 * browser's HAR; answers the Cache gave without the network are not exchanges and are not
 * recorded. That is what lets a replay drive the same features the same way: the session
 * follows the replayed 302, the auth feature answers the replayed 401, the cache revalidates
 * against the replayed 304.
 *
 * Where it sits (order 15, after HSTS, before Cache): its gotHeaders runs before the Cache
 * turns a 304 into the stored 200 and its wrapBody sees the body before ContentDecoder, so
 * what it records is what the network said. The request is recorded in gotHeaders, when
 * every feature's beforeSend has run (cookies, credentials and the cache's validators are
 * on it). The body is recorded decoded (HAR's rule), with Content-Encoding undone here.
 */
import { writeFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { pipeline, Transform, type Readable, type TransformCallback } from "node:stream";
import zlib from "node:zlib";
import { InvalidArgumentError } from "../../errors.js";
import type { SessionFeature } from "../../http/feature.js";
import type { Message } from "../../http/message.js";
import { VERSION } from "../../version.js";
import { encodeBytes, harHeaders, type Har, type HarEntry, type HarPostData } from "./har.js";
import { Redaction } from "./redaction.js";

const LOCATIONS = new Set(["location", "content-location"]);

/** After HSTS (10), before Cache (20): see the class comment. */
export const RECORDER_ORDER = 15;

export interface RecorderOptions {
  /** Where `save()` writes, and where the HAR is written when the session closes. */
  path?: string;
  /**
   * Hide credentials (see redaction.ts). `false` writes them in clear: only for files that
   * never leave the machine. @default true
   */
  redact?: boolean;
  /** More request header names whose values are secrets (X-Api-Key and friends are built in). */
  secretHeaders?: string[];
  /** Bytes of one response body kept; a longer body is cut and marked `_truncated`. @default 10 MiB */
  maxBodySize?: number;
}

interface Pending {
  entry: HarEntry;
  started: number;
  headersAt: number;
  contentType: string | null;
  codings: string[];
  done: boolean;
  /** wrapBody is copying the body: the copy's end (or close) completes the entry. */
  teeing: boolean;
  /** The whole body, when a feature's wantsBody had the session read it (inspectBody). */
  inspected: Uint8Array | null;
}

const DECODERS: Record<string, ((b: Buffer, o: zlib.ZlibOptions) => Buffer) | null> = {
  gzip: zlib.gunzipSync,
  "x-gzip": zlib.gunzipSync,
  deflate: (b, o) => {
    // RFC 9110 deflate is zlib-wrapped; some servers send it raw.
    try {
      return zlib.inflateSync(b, o);
    } catch {
      return zlib.inflateRawSync(b, o);
    }
  },
  br: (b, o) => zlib.brotliDecompressSync(b, { maxOutputLength: o.maxOutputLength }),
  identity: null,
};

export class Recorder implements SessionFeature {
  readonly order = RECORDER_ORDER;
  readonly path: string | null;
  readonly #redaction: Redaction;
  readonly #maxBodySize: number;
  readonly #entries: HarEntry[] = [];
  readonly #pending = new WeakMap<Message, Pending>();
  readonly #started = new WeakMap<Message, number>();

  constructor(options: RecorderOptions = {}) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("Recorder options must be an object");
    if (options.path !== undefined && (typeof options.path !== "string" || options.path === "")) {
      throw new InvalidArgumentError("Recorder: path must be a non-empty string");
    }
    const max = options.maxBodySize ?? 10 * 1024 * 1024;
    if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError("Recorder: maxBodySize must be a non-negative integer");
    if (options.secretHeaders !== undefined && (!Array.isArray(options.secretHeaders) || options.secretHeaders.some((h) => typeof h !== "string"))) {
      throw new InvalidArgumentError("Recorder: secretHeaders must be an array of header names");
    }
    this.path = options.path ?? null;
    this.#maxBodySize = max;
    this.#redaction = new Redaction(options.redact ?? true, options.secretHeaders);
  }

  /** The entries recorded so far, in the order their responses arrived. */
  get entries(): readonly HarEntry[] {
    return this.#entries;
  }

  /** The recording as a HAR 1.2 object (entries whose body is still streaming have what arrived so far). */
  toHar(): Har {
    return { log: { version: "1.2", creator: { name: "sessionkit", version: VERSION }, entries: this.#entries.slice() } };
  }

  /** Writes the HAR (to `path`, or the path given at construction), atomically. */
  async save(path: string | null = this.path): Promise<void> {
    if (path === null) throw new InvalidArgumentError("Recorder.save: no path given and none set in the options");
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, this.#json(), { mode: 0o600 });
    await rename(tmp, path);
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.length = 0;
  }

  toString(): string {
    return `Recorder { entries: ${this.#entries.length}${this.path ? `, path: ${this.path}` : ""} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ── hooks ────────────────────────────────────────────────────────────────────────────

  /** The session closes (or drops the feature): the file is written then, synchronously. */
  detach(): void {
    if (this.path !== null) writeFileSync(this.path, this.#json(), { mode: 0o600 });
  }

  beforeSend(msg: Message): void {
    this.#started.set(msg, Date.now());
  }

  gotHeaders(msg: Message): void {
    if (msg.fromCache) return; // the Cache answered: no exchange with the network
    const now = Date.now();
    const started = this.#started.get(msg) ?? now;
    const r = this.#redaction;
    const url = r.url(msg.url);
    const reqType = msg.requestHeaders.getOne("Content-Type");
    const entry: HarEntry = {
      startedDateTime: new Date(started).toISOString(),
      time: now - started,
      request: {
        method: msg.method,
        url,
        httpVersion: `HTTP/${msg.httpVersion}`,
        cookies: [],
        headers: harHeaders(mapHeaders(msg.requestHeaders, (n, v) => r.header(n, v))),
        queryString: harHeaders(new URL(url).searchParams),
        headersSize: -1,
        bodySize: -1,
      },
      response: {
        status: msg.status,
        statusText: msg.reasonPhrase,
        httpVersion: `HTTP/${msg.httpVersion}`,
        cookies: [],
        headers: harHeaders(mapHeaders(msg.responseHeaders, (n, v) => (LOCATIONS.has(n.toLowerCase()) ? r.location(v, msg.url) : r.header(n, v)))),
        content: { size: 0, mimeType: msg.responseHeaders.getOne("Content-Type") ?? "" },
        redirectURL: r.location(msg.responseHeaders.getOne("Location") ?? "", msg.url),
        headersSize: -1,
        bodySize: -1,
      },
      cache: {},
      timings: { send: 0, wait: now - started, receive: 0 },
    };
    const body = msg.requestBody;
    if (body !== null) {
      if (typeof body === "string" || body instanceof Uint8Array) {
        const bytes = typeof body === "string" ? new Uint8Array(Buffer.from(body, "utf8")) : body;
        const enc = encodeBytes(bytes);
        const post: HarPostData = { mimeType: reqType ?? "", text: enc.encoding ? enc.text : r.requestBody(enc.text, reqType) };
        if (enc.encoding) post._encoding = "base64";
        entry.request.postData = post;
        entry.request.bodySize = bytes.byteLength;
      } else entry.request._bodyNotCaptured = true;
    }
    const codings = (msg.responseHeaders.get("Content-Encoding") ?? "")
      .split(",")
      .map((c) => c.trim().toLowerCase())
      .filter((c) => c !== "");
    this.#entries.push(entry);
    this.#pending.set(msg, {
      entry,
      started,
      headersAt: now,
      contentType: entry.response.content.mimeType || null,
      codings,
      done: false,
      teeing: false,
      inspected: null,
    });
  }

  /**
   * Another feature asked to see this body (a credential session reading an "expired token"
   * answer): keep it, so a response that leads to a retry is recorded with its body and the
   * replay drives that feature the same way. Asks for nothing itself (no wantsBody), so
   * recording never costs a response its streaming.
   */
  inspectBody(msg: Message, body: Uint8Array): void {
    const p = this.#pending.get(msg);
    if (p !== undefined) p.inspected = body.slice();
  }

  /** The response led to a redirect or a retry: the entry is complete (body only if inspected). */
  restarted(msg: Message): void {
    this.#finish(msg, this.#pending.get(msg)?.inspected ?? new Uint8Array(0), false);
  }

  requestUnqueued(msg: Message): void {
    // An entry whose body never reached wrapBody (the request failed after the headers).
    if (this.#pending.get(msg)?.teeing === false) this.#finish(msg, new Uint8Array(0), true);
  }

  wrapBody(msg: Message, body: Readable): Readable {
    const p = this.#pending.get(msg);
    if (p === undefined || p.done) return body;
    p.teeing = true;
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    const max = this.#maxBodySize;
    const finish = () => this.#finish(msg, Buffer.concat(chunks, size), truncated);
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb: TransformCallback) {
        if (size + chunk.length <= max) {
          chunks.push(chunk);
          size += chunk.length;
        } else if (!truncated) {
          truncated = true;
          chunks.push(chunk.subarray(0, max - size));
          size = max;
        }
        cb(null, chunk);
      },
      flush(cb: TransformCallback) {
        finish();
        cb();
      },
    });
    // Closed before its end (the caller stopped reading, or the body failed): the entry keeps
    // what arrived and says it is cut (a no-op when flush already completed it).
    tee.on("close", () => {
      truncated = true;
      finish();
    });
    return pipeline(body, tee, () => undefined);
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────

  #finish(msg: Message, raw: Uint8Array, truncated: boolean): void {
    const p = this.#pending.get(msg);
    if (p === undefined || p.done) return;
    p.done = true;
    this.#pending.delete(msg);
    const now = Date.now();
    const { entry } = p;
    entry.time = now - p.started;
    entry.timings.receive = now - p.headersAt;
    entry.response.bodySize = raw.byteLength;
    let bytes = raw;
    let encoded = false;
    if (p.codings.length > 0 && raw.byteLength > 0) {
      try {
        bytes = truncated ? raw : decode(raw, p.codings, this.#maxBodySize);
      } catch {
        encoded = true; // unknown coding, corrupt or too big once decoded: keep it as received
      }
      if (truncated) encoded = true;
    }
    const enc = encodeBytes(bytes);
    const text = enc.encoding || encoded ? enc.text : this.#redaction.responseBody(enc.text, p.contentType);
    entry.response.content = { size: bytes.byteLength, mimeType: entry.response.content.mimeType, text };
    if (enc.encoding) entry.response.content.encoding = "base64";
    if (encoded) entry.response.content._encoded = true;
    if (truncated) entry.response.content._truncated = true;
  }

  #json(): string {
    return `${JSON.stringify(this.toHar(), null, 2)}\n`;
  }
}

function* mapHeaders(h: Iterable<[string, string]>, f: (name: string, value: string) => string): Generator<[string, string]> {
  for (const [name, value] of h) yield [name, f(name, value)];
}

/** Undoes Content-Encoding (codings applied in order, so undone in reverse). */
function decode(raw: Uint8Array, codings: string[], max: number): Uint8Array {
  let buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = codings.length - 1; i >= 0; i--) {
    const d = DECODERS[codings[i]];
    if (d === undefined) throw new Error(`unknown coding ${codings[i]}`);
    if (d !== null) buf = d(buf, { maxOutputLength: Math.max(1, max) });
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Replayer: answers a session's requests from a HAR file, without the network, through the
 * feature contract's SyntheticResponse; a request it cannot match fails with
 * ReplayNoMatchError (`REPLAY_NO_MATCH`), never silently reaching the network.
 *
 * Matching (in this order):
 * 1. method, exactly;
 * 2. URL without its fragment, after the Recorder's redaction is applied to the live request
 *    too (so `?access_token=…` matches the `[REDACTED]` in the file, and a file written with
 *    `redact: false` still matches);
 * 3. with `matchBody: true`, the request body, redacted the same way (a body the Recorder
 *    could not capture, a stream, matches any body);
 * 4. repeated requests consume entries in file order: the second `GET /counter` gets the
 *    second recorded answer. An entry is used once; when none is left, REPLAY_NO_MATCH.
 * Headers are not matched (cookies, credentials and dates differ from run to run).
 *
 * Where it sits (order 110, after every built-in feature, the Logger included): every other
 * feature's beforeSend has run, so the Logger prints the request and cookies and credentials
 * are added as they would be; then this answers instead of the network, and the response
 * side runs as usual — the cookie jar stores replayed Set-Cookie, the auth feature answers a
 * replayed 401, the Cache stores and revalidates, redirects are followed.
 *
 * Replayed responses: the recorded status and headers, the body as recorded (decoded, so
 * Content-Encoding and Transfer-Encoding are dropped and Content-Length set), and with
 * `shiftDates` (default) Date, Expires and Last-Modified moved forward by the time since the
 * recording, so a response is as fresh for the Cache as it was when recorded.
 */
import { InvalidArgumentError } from "../../errors.js";
import type { SessionFeature, SyntheticResponse } from "../../http/feature.js";
import { MessageHeaders } from "../../http/headers.js";
import type { Message } from "../../http/message.js";
import { formatHttpDate, parseHttpDate } from "../cache/cache-control.js";
import { ReplayNoMatchError } from "./errors.js";
import { decodeText, encodeBytes, harHeader, loadHar, type Har, type HarEntry } from "./har.js";
import { Redaction } from "./redaction.js";

/** After the Logger (100): see the class comment. */
export const REPLAYER_ORDER = 110;

export interface ReplayerOptions {
  /** A HAR file's path (read once, synchronously, here) or a parsed HAR object. */
  har: string | Har;
  /** Match the request body as well as method and URL. @default false */
  matchBody?: boolean;
  /** Move Date, Expires and Last-Modified by the time since the recording. @default true */
  shiftDates?: boolean;
  /** The Recorder's secretHeaders, if it had any (they are redacted in live requests too). */
  secretHeaders?: string[];
  /** Clock in ms since the epoch (for tests). @default Date.now */
  now?: () => number;
}

const DROPPED = new Set(["content-encoding", "transfer-encoding", "content-length", "connection", "keep-alive"]);

export class Replayer implements SessionFeature {
  readonly order = REPLAYER_ORDER;
  readonly #entries: readonly HarEntry[];
  readonly #used: boolean[];
  readonly #byKey = new Map<string, number[]>();
  readonly #matchBody: boolean;
  readonly #shiftDates: boolean;
  readonly #redaction: Redaction;
  readonly #now: () => number;

  constructor(options: ReplayerOptions) {
    if (typeof options !== "object" || options === null) throw new InvalidArgumentError("Replayer options must be an object with `har`");
    if (typeof options.har !== "string" && (typeof options.har !== "object" || options.har === null)) {
      throw new InvalidArgumentError("Replayer: har must be a file path or a HAR object");
    }
    if (options.now !== undefined && typeof options.now !== "function") throw new InvalidArgumentError("Replayer: now must be a function");
    this.#entries = loadHar(options.har).log.entries;
    this.#used = this.#entries.map(() => false);
    this.#matchBody = options.matchBody ?? false;
    this.#shiftDates = options.shiftDates ?? true;
    this.#redaction = new Redaction(true, options.secretHeaders);
    this.#now = options.now ?? Date.now;
    this.#entries.forEach((e, i) => {
      const key = this.#key(e.request.method, e.request.url);
      const list = this.#byKey.get(key);
      if (list) list.push(i);
      else this.#byKey.set(key, [i]);
    });
  }

  /** How many recorded exchanges were not replayed yet. */
  get remaining(): number {
    return this.#used.filter((u) => !u).length;
  }

  /** The recorded exchanges not replayed yet (e.g. to assert a test used them all). */
  unused(): HarEntry[] {
    return this.#entries.filter((_, i) => !this.#used[i]);
  }

  /** Makes every entry available again. */
  rewind(): void {
    this.#used.fill(false);
  }

  toString(): string {
    return `Replayer { entries: ${this.#entries.length}, remaining: ${this.remaining} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  beforeSend(msg: Message): SyntheticResponse {
    const url = this.#redaction.url(msg.url);
    const candidates = this.#byKey.get(this.#key(msg.method, url)) ?? [];
    const free = candidates.filter((i) => !this.#used[i]);
    const i = this.#matchBody ? free.find((j) => this.#bodyMatches(this.#entries[j], msg)) : free[0];
    if (i === undefined) {
      const detail =
        candidates.length === 0
          ? "nothing recorded for this method and URL"
          : free.length === 0
            ? `all ${candidates.length} recorded for it were used`
            : `${free.length} recorded for it, none with this body`;
      throw new ReplayNoMatchError(msg.method, url, detail);
    }
    this.#used[i] = true;
    return this.#respond(this.#entries[i]);
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────

  #key(method: string, url: string): string {
    let normal: string;
    try {
      normal = this.#redaction.url(new URL(url));
    } catch {
      normal = url;
    }
    return `${method} ${normal}`;
  }

  #bodyMatches(e: HarEntry, msg: Message): boolean {
    if (e.request._bodyNotCaptured) return true;
    const body = msg.requestBody;
    if (body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) return true; // a stream: not comparable
    const recorded = e.request.postData;
    if (body === null || body === "" || (body instanceof Uint8Array && body.byteLength === 0)) return recorded === undefined || recorded.text === "";
    if (recorded === undefined) return false;
    const bytes = typeof body === "string" ? new Uint8Array(Buffer.from(body, "utf8")) : body;
    const enc = encodeBytes(bytes);
    if (enc.encoding || recorded._encoding) return enc.encoding === recorded._encoding && enc.text === recorded.text;
    const type = msg.requestHeaders.getOne("Content-Type");
    return this.#redaction.requestBody(enc.text, type) === this.#redaction.requestBody(recorded.text, recorded.mimeType || type);
  }

  #respond(e: HarEntry): SyntheticResponse {
    const res = e.response;
    const encoded = res.content._encoded === true;
    const body = decodeText(res.content.text, res.content.encoding);
    const headers = new MessageHeaders();
    for (const { name, value } of res.headers) {
      const lower = name.toLowerCase();
      if (DROPPED.has(lower) && !(encoded && lower === "content-encoding")) continue;
      headers.append(name, value);
    }
    if (res.status !== 204 && res.status !== 304 && !(res.status >= 100 && res.status < 200)) headers.set("Content-Length", String(body.byteLength));
    if (this.#shiftDates) this.#shift(headers, e);
    return { status: res.status, reasonPhrase: res.statusText ?? "", headers, body };
  }

  /** Moves the response's dates forward by the time since it was recorded. */
  #shift(headers: MessageHeaders, e: HarEntry): void {
    const recordedAt = parseHttpDate(harHeader(e.response.headers, "Date")) ?? Date.parse(e.startedDateTime);
    if (!Number.isFinite(recordedAt)) return;
    const delta = this.#now() - recordedAt;
    for (const name of ["Date", "Expires", "Last-Modified"]) {
      const t = parseHttpDate(headers.getOne(name));
      if (t !== null) headers.set(name, formatHttpDate(t + delta));
    }
  }
}

/**
 * A Message is one HTTP request and its response (libsoup's SoupMessage). It lives across
 * restarts (redirects, auth retries): the session reuses the same object, so features can
 * keep per-message state and applications see the final URL and status.
 */
import { EventEmitter } from "node:events";
import { Readable } from "node:stream";
import { InvalidArgumentError } from "../errors.js";
import { MessageHeaders } from "./headers.js";
import { redactUrl } from "./redact.js";
import type { RestartReason } from "./diagnostics.js";
import type { SessionFeatureClass } from "./feature.js";
import type { RetryOptions } from "./retry.js";
import type { DownloadProgress, UploadProgress } from "./meter.js";

/** libsoup's SoupMessageFlags, as bit flags. */
export const MessageFlags = {
  NONE: 0,
  /** Hand 3xx responses to the caller instead of following them. */
  NO_REDIRECT: 1 << 1,
  /** Never reuse a pooled connection for this message. */
  NEW_CONNECTION: 1 << 2,
  /** The request may be retried on a fresh connection when a reused one was closed under it. */
  IDEMPOTENT: 1 << 3,
  /** Skip the auth feature's credential cache for this message. */
  DO_NOT_USE_AUTH_CACHE: 1 << 4,
  /** Fill `msg.metrics` with timestamps and byte counts. */
  COLLECT_METRICS: 1 << 5,
  /** Use HTTP/1.1 even where HTTP/2 would be negotiated (libsoup's force_http1). */
  FORCE_HTTP1: 1 << 6,
} as const;
export type MessageFlag = (typeof MessageFlags)[keyof typeof MessageFlags];

/** libsoup's SoupMessagePriority: waiting messages are served highest first. */
export const MessagePriority = {
  VERY_LOW: -2,
  LOW: -1,
  NORMAL: 0,
  HIGH: 1,
  VERY_HIGH: 2,
} as const;
export type MessagePriorityValue = (typeof MessagePriority)[keyof typeof MessagePriority];

/**
 * libsoup's SoupMessageMetrics. Timestamps are `performance.now()` milliseconds; a value of
 * 0 means the step did not happen (e.g. no DNS/connect/TLS on a reused connection).
 */
export interface MessageMetrics {
  fetchStart: number;
  dnsStart: number;
  dnsEnd: number;
  connectStart: number;
  connectEnd: number;
  tlsStart: number;
  requestStart: number;
  responseStart: number;
  responseEnd: number;
  requestHeaderBytesSent: number;
  requestBodySize: number;
  requestBodyBytesSent: number;
  responseHeaderBytesReceived: number;
  responseBodySize: number;
  responseBodyBytesReceived: number;
}

export function emptyMetrics(): MessageMetrics {
  return {
    fetchStart: 0,
    dnsStart: 0,
    dnsEnd: 0,
    connectStart: 0,
    connectEnd: 0,
    tlsStart: 0,
    requestStart: 0,
    responseStart: 0,
    responseEnd: 0,
    requestHeaderBytesSent: 0,
    requestBodySize: 0,
    requestBodyBytesSent: 0,
    responseHeaderBytesReceived: 0,
    responseBodySize: 0,
    responseBodyBytesReceived: 0,
  };
}

/** A request body as given to `setRequestBody`. Streams can be sent once only. */
export type RequestBodyInit = Uint8Array | string | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Readable;

export interface SniffedType {
  contentType: string;
  params: Record<string, string>;
}

export interface MessageEvents {
  /** The message is about to be sent again: "redirect", "feature" (auth, credential refresh) or "retry". */
  restarted: [reason: RestartReason];
  /** Response headers arrived (after features ran on them). */
  "got-headers": [];
  /** The message is done: body read, failed or cancelled. Fires once. */
  finished: [];
  /** Bytes of the response body arrived (only emitted while someone listens). */
  "download-progress": [progress: DownloadProgress];
  /** Bytes of the request body were handed to the connection (only emitted while someone listens). */
  "upload-progress": [progress: UploadProgress];
  /** ContentSniffer decided the type. */
  "content-sniffed": [contentType: string, params: Record<string, string>];
}

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export class Message extends EventEmitter<MessageEvents> {
  method: string;
  #url: URL;
  readonly requestHeaders = new MessageHeaders();
  responseHeaders = new MessageHeaders();
  /** HTTP status, 0 until a response arrives. */
  status = 0;
  reasonPhrase = "";
  /** The HTTP version of the response: "1.1" (or "1.0"), or "2" over HTTP/2. */
  httpVersion = "1.1";
  flags = 0;
  priority: MessagePriorityValue = MessagePriority.NORMAL;
  /** Filled only when the COLLECT_METRICS flag is set. */
  metrics: MessageMetrics | null = null;
  /** For cookie policies: the URL of the page that started this load. */
  firstParty: URL | null = null;
  /** For SameSite decisions: the site the request is made for. */
  siteForCookies: URL | null = null;
  /** True when this is a top-level navigation (SameSite=Lax cookies go along cross-site). */
  isTopLevelNavigation = false;
  /** The sniffed type, set by ContentSniffer. */
  sniffedContentType: SniffedType | null = null;
  /** True when the response came from the Cache feature and not the network. */
  fromCache = false;
  /** The body of a response the session did not stream (e.g. a refused WebSocket upgrade). */
  responseBody: Uint8Array | null = null;
  /** Bodies of this message carry secrets (a login): the Logger never prints them. */
  sensitiveBody = false;
  /** How many times this message was restarted (redirects, auth retries and retries). */
  restartCount = 0;
  /** How many of those restarts were retries (the session's `retry` option). */
  retryCount = 0;
  /** Largest response body accepted, in bytes (wire and decoded); `null`: the session's (`maxResponseSize`). */
  maxResponseSize: number | null = null;
  /**
   * An overall deadline in ms for this message, from the send call to the end of its body,
   * across redirects, auth rounds and retries; exceeded, it fails with TIMEOUT. `null`: none.
   */
  deadline: number | null = null;
  /** Retry rules for this message; `null`: the session's (`session.retry`). */
  retry: RetryOptions | number | boolean | null = null;
  #body: RequestBodyInit | null = null;
  #bodyUsed = false;
  #disabled: Set<SessionFeatureClass> | null = null;

  constructor(method: string, url: string | URL) {
    super();
    if (!METHOD.test(method)) throw new InvalidArgumentError(`Invalid HTTP method: ${JSON.stringify(method)}`);
    this.method = method.toUpperCase() === method ? method : normalizeMethod(method);
    this.#url = parseHttpUrl(url);
  }

  get url(): URL {
    return this.#url;
  }

  set url(value: URL | string) {
    this.#url = parseHttpUrl(value);
  }

  /** Sets the request body and its Content-Type (pass null content type to leave the header alone). */
  setRequestBody(contentType: string | null, body: RequestBodyInit | null): void {
    if (body !== null && typeof body !== "string" && !(body instanceof Uint8Array) && !isStreamLike(body)) {
      throw new InvalidArgumentError("setRequestBody: body must be bytes, a string, a ReadableStream or an async iterable");
    }
    this.#body = body;
    this.#bodyUsed = false;
    if (contentType !== null && body !== null) this.requestHeaders.set("Content-Type", contentType);
    if (body === null) this.requestHeaders.delete("Content-Type");
  }

  get requestBody(): RequestBodyInit | null {
    return this.#body;
  }

  /** True when the body is bytes or a string, so the message can be sent again. */
  get bodyReplayable(): boolean {
    return this.#body === null || typeof this.#body === "string" || this.#body instanceof Uint8Array;
  }

  /** @internal called by the session when a stream body has been handed to the transport. */
  _markBodyUsed(): void {
    if (!this.bodyReplayable) this.#bodyUsed = true;
  }

  /** True when a stream body was already sent and cannot be sent again. */
  get bodyUsed(): boolean {
    return this.#bodyUsed;
  }

  /** Disables a feature (and its subclasses) for this message only. */
  disableFeature(type: SessionFeatureClass): void {
    (this.#disabled ??= new Set()).add(type);
  }

  isFeatureDisabled(feature: object): boolean {
    if (this.#disabled === null) return false;
    for (const type of this.#disabled) if (feature instanceof type) return true;
    return false;
  }

  hasFlag(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  addFlags(flags: number): void {
    this.flags |= flags;
  }

  removeFlags(flags: number): void {
    this.flags &= ~flags;
  }

  /**
   * @internal The proxy chosen for the current attempt (the transport resolves it once per
   * attempt and URL; the auth feature reads the same answer).
   */
  _proxy: { href: string; proxy: Promise<URL | null> } | null = null;

  /** @internal The one place a response's status line and headers are written. */
  _setResponse(status: number, reasonPhrase: string, headers: MessageHeaders, httpVersion?: string): void {
    this.status = status;
    this.reasonPhrase = reasonPhrase;
    this.responseHeaders = headers;
    if (httpVersion !== undefined) this.httpVersion = httpVersion;
  }

  /** @internal reset response state before a restart. */
  _resetResponse(): void {
    this._proxy = null;
    this.status = 0;
    this.reasonPhrase = "";
    this.responseHeaders = new MessageHeaders();
    this.sniffedContentType = null;
    this.fromCache = false;
  }

  override toString(): string {
    return `Message { ${this.method} ${redactUrl(this.#url)} status=${this.status} }`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}

function normalizeMethod(method: string): string {
  // Fetch-style normalization of the well-known methods; others keep their case.
  const upper = method.toUpperCase();
  return ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"].includes(upper) ? upper : method;
}

function isStreamLike(v: unknown): boolean {
  return typeof v === "object" && v !== null && (typeof (v as ReadableStream).getReader === "function" || Symbol.asyncIterator in (v as object));
}

export function parseHttpUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = typeof input === "string" ? new URL(input) : new URL(input.href);
  } catch {
    throw new InvalidArgumentError(`Invalid URL: ${JSON.stringify(String(input).slice(0, 200))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:" && url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new InvalidArgumentError(`Unsupported URL scheme ${url.protocol} (http, https, ws and wss are supported)`);
  }
  return url;
}

// The one URL redaction (userinfo, secret query and fragment parameters), shared with the
// Logger; re-exported here because `redactUrl` has always been importable from this module.
export { redactUrl } from "./redact.js";

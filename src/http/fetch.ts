/**
 * `session.fetch`: a WHATWG-fetch-compatible function whose requests go through the
 * session (pool, features, redirects), so the session drops into any fetch-based library.
 * Differences from the global fetch are deliberate and documented in docs/http.md: failures
 * reject with sessionkit's typed errors (an abort still has name "AbortError").
 */
import { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { AbortError, InvalidArgumentError, RedirectError } from "../errors.js";
import { mapTransportError } from "./transport-errors.js";
import { Message, MessageFlags } from "./message.js";
import type { SendOptions } from "./session.js";
import type { RequestBodyInit } from "./message.js";
import type { FetchBodyInit, FetchHeadersInit, FetchInit, FetchInput } from "./fetch-types.js";
import { applyFetchCacheMode } from "../features/cache/request-mode.js";

/**
 * What fetch needs from a session: run one message through its whole pipeline and give
 * back the final body stream. `Session` passes its own; a credential session passes its
 * send path (token, refresh and retry) so its fetch gets the same treatment.
 */
export type MessageSender = (msg: Message, options: SendOptions) => Promise<{ body: Readable }>;

/**
 * Unread bodies of collected Responses (as undici's fetch does): only a stream nobody locked
 * or read from is destroyed, so a reader that outlives its Response keeps reading.
 */
const unread = new FinalizationRegistry<{ stream: Readable; web: WeakRef<ReadableStream<Uint8Array>> }>(({ stream, web }) => {
  const body = web.deref();
  if (stream.destroyed || (body !== undefined && body.locked)) return;
  stream.destroy();
});

/**
 * The body as a web ReadableStream. `Readable.toWeb` costs several promises and an extra
 * queue per chunk; this adapter enqueues each chunk as it arrives and pauses the Node stream
 * while the web queue is full, which is all a fetch body needs. Errors keep their typed form.
 */
function webStream(stream: Readable): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream.on("data", (c: Buffer) => {
          controller.enqueue(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) stream.pause();
        });
        stream.once("end", () => {
          done = true;
          controller.close();
        });
        stream.once("error", (err) => {
          if (done) return;
          done = true;
          controller.error(mapTransportError(err, "body"));
        });
        stream.once("close", () => {
          if (done) return;
          done = true;
          controller.error(new AbortError("The response body was closed before it ended"));
        });
      },
      pull() {
        stream.resume();
      },
      cancel() {
        done = true;
        stream.destroy();
      },
    },
    { highWaterMark: 16384, size: (c) => c.byteLength },
  );
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);

function applyHeaders(msg: Message, headers: FetchHeadersInit | undefined): void {
  if (headers === undefined) return;
  if (headers instanceof Headers) headers.forEach((v, k) => msg.requestHeaders.append(k, v));
  else if (Array.isArray(headers)) for (const [k, v] of headers) msg.requestHeaders.append(k, v);
  else for (const [k, v] of Object.entries(headers as Record<string, string>)) msg.requestHeaders.append(k, v);
}

async function toBody(body: FetchBodyInit): Promise<{ body: RequestBodyInit; type: string | null }> {
  if (typeof body === "string") return { body, type: "text/plain;charset=UTF-8" };
  if (body instanceof Uint8Array) return { body, type: null };
  if (body instanceof ArrayBuffer) return { body: new Uint8Array(body), type: null };
  if (ArrayBuffer.isView(body)) return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), type: null };
  if (body instanceof URLSearchParams) return { body: body.toString(), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  if (body instanceof ReadableStream) return { body, type: null };
  // Blob, FormData: let the platform serialize them (multipart boundary etc.).
  const r = new Response(body as FetchBodyInit);
  return { body: new Uint8Array(await r.arrayBuffer()), type: r.headers.get("content-type") };
}

export async function sessionFetch(send: MessageSender, input: FetchInput, init: FetchInit = {}): Promise<Response> {
  let url: string;
  let method = init.method;
  let headers = init.headers;
  let body = init.body ?? null;
  let signal = init.signal ?? undefined;
  let redirect = init.redirect;
  let cache = init.cache;
  if (input instanceof Request) {
    url = input.url;
    method ??= input.method;
    headers ??= input.headers;
    if (body === null && input.body !== null) body = input.body;
    signal ??= input.signal;
    redirect ??= input.redirect;
    cache ??= input.cache;
  } else {
    url = input instanceof URL ? input.href : String(input);
  }
  method =
    (method ?? "GET").toUpperCase() === method
      ? method!
      : ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"].includes((method ?? "GET").toUpperCase())
        ? (method ?? "GET").toUpperCase()
        : method!;
  if ((method === "GET" || method === "HEAD") && body !== null) {
    throw new InvalidArgumentError("Request with GET/HEAD method cannot have a body");
  }
  const msg = new Message(method, url);
  applyHeaders(msg, headers);
  if (body !== null) {
    const b = await toBody(body);
    msg.setRequestBody(msg.requestHeaders.has("Content-Type") ? null : b.type, b.body);
  }
  if (redirect === "manual" || redirect === "error") msg.addFlags(MessageFlags.NO_REDIRECT);
  // The Cache feature honours every RequestCache mode (features/cache/request-mode.ts).
  if (cache !== undefined && cache !== "default") applyFetchCacheMode(msg, cache);

  const { body: stream } = await send(msg, { signal: signal ?? undefined });
  if (redirect === "error" && msg.status >= 300 && msg.status < 400 && msg.responseHeaders.has("Location")) {
    stream.destroy();
    throw new RedirectError("REDIRECT_NOT_ALLOWED", `Got a ${msg.status} redirect and redirect mode is "error"`);
  }
  const nullBody = NULL_BODY_STATUS.has(msg.status) || method === "HEAD";
  // No body to hand out: read it to its end now, so the connection is back in the pool
  // before the caller's next request (which would otherwise open a second one).
  if (nullBody) await finished(stream.resume()).catch(() => undefined);
  const web = nullBody ? null : webStream(stream);
  const response = new Response(web, {
    status: msg.status < 200 || msg.status > 599 ? 200 : msg.status,
    statusText: msg.reasonPhrase,
    headers: msg.responseHeaders.toWebHeaders(),
  });
  // A Response dropped with its body never read would hold its pooled connection; when it is
  // collected with the body untouched, the body is destroyed, which drops the connection.
  if (web !== null) unread.register(response, { stream, web: new WeakRef(web) });
  Object.defineProperty(response, "url", { value: msg.url.href.replace(/#.*$/, "") });
  Object.defineProperty(response, "redirected", { value: msg.restartCount > 0 && msg.url.href !== url });
  return response;
}

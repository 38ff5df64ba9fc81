/**
 * ContentSniffer (libsoup's SoupContentSniffer): decides the real type of a response body
 * with the WHATWG MIME Sniffing algorithm (mime-sniff.ts). It runs after ContentDecoder
 * (FeatureOrder.SNIFFER > DECODER), so it sniffs decoded bytes, as browsers do.
 *
 * In `wrapBody` it reads up to 1445 bytes (fewer when the body is shorter), sets
 * `msg.sniffedContentType`, emits `content-sniffed`, and returns a stream that yields those
 * bytes first and then the rest: the caller reads the whole body, unchanged.
 */
import type { Readable } from "node:stream";
import { FeatureOrder, type SessionFeature } from "../../http/feature.js";
import type { Message } from "../../http/message.js";
import { sniffMimeType, RESOURCE_HEADER_SIZE, type SniffContext } from "./mime-sniff.js";
import { splitHeaderValues } from "./mime-type.js";
import { PrefixedReadable, peekStream } from "./peek.js";

export interface ContentSnifferOptions {
  /**
   * How many bytes to read before deciding. The standard's resource header is 1445 bytes;
   * a smaller value trades accuracy (MP3 frames, feeds) for latency on slow bodies.
   * @default 1445
   */
  maxBytes?: number;
  /** @default "browsing" (the full algorithm) */
  context?: SniffContext;
}

/** Fetch's "determine nosniff": the first X-Content-Type-Options value is "nosniff". */
export function hasNoSniff(value: string | null): boolean {
  if (value === null) return false;
  return splitHeaderValues(value)[0]?.toLowerCase() === "nosniff";
}

export class ContentSniffer implements SessionFeature {
  readonly order = FeatureOrder.SNIFFER;
  readonly maxBytes: number;
  readonly context: SniffContext;

  constructor(options: ContentSnifferOptions = {}) {
    const maxBytes = options.maxBytes ?? RESOURCE_HEADER_SIZE;
    if (!Number.isInteger(maxBytes) || maxBytes < 1 || maxBytes > RESOURCE_HEADER_SIZE) {
      throw new TypeError(`ContentSniffer: maxBytes must be an integer from 1 to ${RESOURCE_HEADER_SIZE}`);
    }
    this.maxBytes = maxBytes;
    this.context = options.context ?? "browsing";
  }

  async wrapBody(msg: Message, body: Readable): Promise<Readable> {
    // HEAD and bodiless statuses have nothing to sniff; libsoup reports the supplied type.
    const bodiless = msg.method === "HEAD" || msg.status === 204 || msg.status === 304 || (msg.status >= 100 && msg.status < 200);
    const peeked = bodiless ? { chunks: [], length: 0, ended: true, error: null } : await peekStream(body, this.maxBytes);
    const head = peeked.chunks.length === 1 ? peeked.chunks[0] : Buffer.concat(peeked.chunks, peeked.length);
    const result = sniffMimeType(head, msg.responseHeaders.get("Content-Type"), {
      noSniff: hasNoSniff(msg.responseHeaders.get("X-Content-Type-Options")),
      context: this.context,
    });
    msg.sniffedContentType = result;
    // A listener that throws must not lose the body we already took from the stream.
    try {
      msg.emit("content-sniffed", result.contentType, result.params);
    } catch (err) {
      body.destroy();
      throw err;
    }
    if (bodiless) return body;
    return new PrefixedReadable(body, peeked);
  }
}

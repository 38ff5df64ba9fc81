/**
 * The WHATWG MIME Sniffing Standard's "MIME type sniffing algorithm" (§7) as one pure
 * function: bytes and the supplied Content-Type in, the computed type out. No I/O, no state,
 * so it is tested row by row against the standard's tables (test/features/sniffer).
 */
import { extractMimeType, isAudioOrVideoMimeType, isHtmlMimeType, isImageMimeType, isXmlMimeType, type ParsedMimeType } from "./mime-type.js";
import { matchesMp3WithoutId3, matchesMp4, matchesWebm } from "./media-signatures.js";
import {
  ARCHIVE_PATTERNS,
  AUDIO_VIDEO_PATTERNS,
  FONT_PATTERNS,
  IMAGE_PATTERNS,
  NON_SCRIPTABLE_PATTERNS,
  SCRIPTABLE_PATTERNS,
  isBinaryDataByte,
  isWhitespaceByte,
  matchTable,
} from "./patterns.js";

/** The standard reads at most this many bytes (the "resource header"). */
export const RESOURCE_HEADER_SIZE = 1445;

export interface SniffResult {
  /** The computed MIME type's essence, lower-case ("text/html"). */
  contentType: string;
  /** Its parameters: the supplied ones when the supplied type was kept, otherwise empty. */
  params: Record<string, string>;
}

/** Where the resource is used (§8): the default is a browsing context (the full algorithm). */
export type SniffContext = "browsing" | "image" | "audio-video" | "font";

export interface SniffOptions {
  /** `X-Content-Type-Options: nosniff` was sent. @default false */
  noSniff?: boolean;
  /**
   * The check-for-apache-bug flag. @default true when `suppliedType` is byte for byte one of
   * the four Content-Type values Apache used to send for every file (see APACHE_BUG_TYPES).
   */
  checkApacheBug?: boolean;
  /** @default "browsing" */
  context?: SniffContext;
}

/** §7 step 3 / §3 "check-for-apache-bug flag": the exact header values that trigger it. */
export const APACHE_BUG_TYPES: ReadonlySet<string> = new Set([
  "text/plain",
  "text/plain; charset=ISO-8859-1",
  "text/plain; charset=iso-8859-1",
  "text/plain; charset=UTF-8",
]);

const UNKNOWN_TYPES = new Set(["unknown/unknown", "application/unknown", "*/*"]);

/** §6.1-6.4 as reusable helpers (undefined when nothing matches). */
export const matchImageType = (seq: Uint8Array): string | undefined => matchTable(seq, IMAGE_PATTERNS);
export const matchFontType = (seq: Uint8Array): string | undefined => matchTable(seq, FONT_PATTERNS);
export const matchArchiveType = (seq: Uint8Array): string | undefined => matchTable(seq, ARCHIVE_PATTERNS);
export function matchAudioOrVideoType(seq: Uint8Array): string | undefined {
  const t = matchTable(seq, AUDIO_VIDEO_PATTERNS);
  if (t !== undefined) return t;
  if (matchesMp4(seq)) return "video/mp4";
  if (matchesWebm(seq)) return "video/webm";
  if (matchesMp3WithoutId3(seq)) return "audio/mpeg";
  return undefined;
}

function hasBinaryDataByte(seq: Uint8Array): boolean {
  for (let i = 0; i < seq.length; i++) if (isBinaryDataByte(seq[i])) return true;
  return false;
}

/** §7.1 "rules for identifying an unknown MIME type". */
export function identifyUnknownMimeType(seq: Uint8Array, sniffScriptable: boolean): string {
  if (sniffScriptable) {
    const t = matchTable(seq, SCRIPTABLE_PATTERNS);
    if (t !== undefined) return t;
  }
  return (
    matchTable(seq, NON_SCRIPTABLE_PATTERNS) ??
    matchImageType(seq) ??
    matchAudioOrVideoType(seq) ??
    // Fonts are deliberately not sniffed here: browsers do not, and the standard keeps the
    // step commented out. Use `context: "font"` for that.
    matchArchiveType(seq) ??
    (hasBinaryDataByte(seq) ? "application/octet-stream" : "text/plain")
  );
}

/** §7.2 "rules for distinguishing if a resource is text or binary" (never yields a scriptable type). */
export function textOrBinary(seq: Uint8Array): string {
  const length = seq.length;
  if (length >= 2 && ((seq[0] === 0xfe && seq[1] === 0xff) || (seq[0] === 0xff && seq[1] === 0xfe))) return "text/plain";
  if (length >= 3 && seq[0] === 0xef && seq[1] === 0xbb && seq[2] === 0xbf) return "text/plain";
  if (!hasBinaryDataByte(seq)) return "text/plain";
  return "application/octet-stream";
}

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const PURL_RSS = ascii("http://purl.org/rss/1.0/");
const RDF_NS = ascii("http://www.w3.org/1999/02/22-rdf-syntax-ns#");

function at(seq: Uint8Array, s: number, bytes: readonly number[]): boolean {
  if (seq.length < s + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (seq[s + i] !== bytes[i]) return false;
  return true;
}

const COMMENT_OPEN = ascii("!--");
const COMMENT_CLOSE = ascii("-->");
const PI_CLOSE = ascii("?>");
const RSS = ascii("rss");
const FEED = ascii("feed");
const RDF = ascii("rdf:RDF");

/** Scans from s for `needle`; returns the index just past it, or -1 when the header ends first. */
function skipPast(seq: Uint8Array, s: number, needle: readonly number[]): number {
  for (; s < seq.length; s++) if (at(seq, s, needle)) return s + needle.length;
  return -1;
}

/** Loop N: the other RDF namespace appears somewhere after s. */
function findsLater(seq: Uint8Array, s: number, needle: readonly number[]): boolean {
  return skipPast(seq, s, needle) !== -1;
}

/**
 * §7.3 "rules for distinguishing if a resource is a feed or HTML". Returns the feed type, or
 * null meaning "the supplied MIME type".
 */
export function feedOrHtml(seq: Uint8Array): string | null {
  const length = seq.length;
  let s = 0;
  if (at(seq, 0, [0xef, 0xbb, 0xbf])) s = 3;
  outer: while (s < length) {
    // Loop L: skip whitespace up to "<".
    for (;;) {
      if (s >= length) return null;
      if (seq[s] === 0x3c) {
        s++;
        break;
      }
      if (!isWhitespaceByte(seq[s])) return null;
      s++;
    }
    // Loop L (second): what follows "<".
    if (s >= length) return null;
    if (at(seq, s, COMMENT_OPEN)) {
      s = skipPast(seq, s + 3, COMMENT_CLOSE);
      if (s === -1) return null;
      continue outer;
    }
    if (seq[s] === 0x21) {
      s = skipPast(seq, s + 1, [0x3e]);
      if (s === -1) return null;
      continue outer;
    }
    if (seq[s] === 0x3f) {
      s = skipPast(seq, s + 1, PI_CLOSE);
      if (s === -1) return null;
      continue outer;
    }
    if (at(seq, s, RSS)) return "application/rss+xml";
    if (at(seq, s, FEED)) return "application/atom+xml";
    if (at(seq, s, RDF)) {
      // Loop M: both namespaces must appear after "rdf:RDF", in either order.
      for (s += RDF.length; s < length; s++) {
        if (at(seq, s, PURL_RSS)) return findsLater(seq, s + PURL_RSS.length, RDF_NS) ? "application/rss+xml" : null;
        if (at(seq, s, RDF_NS)) return findsLater(seq, s + RDF_NS.length, PURL_RSS) ? "application/rss+xml" : null;
      }
      return null;
    }
    return null;
  }
  return null;
}

/**
 * §7 "MIME type sniffing algorithm". `bytes` may be longer than the resource header: only the
 * first 1445 bytes are read. `suppliedType` is the Content-Type header value (or null).
 */
export function sniffMimeType(bytes: Uint8Array, suppliedType: string | null, options: SniffOptions = {}): SniffResult {
  const seq = bytes.length > RESOURCE_HEADER_SIZE ? bytes.subarray(0, RESOURCE_HEADER_SIZE) : bytes;
  const noSniff = options.noSniff ?? false;
  const supplied = suppliedType === null ? null : extractMimeType(suppliedType);
  const keep = (t: ParsedMimeType): SniffResult => ({ contentType: t.essence, params: { ...t.params } });
  const computed = (type: string): SniffResult => ({ contentType: type, params: {} });
  const context = options.context ?? "browsing";

  if (context !== "browsing") {
    // §8: context-specific sniffing.
    if (supplied !== null && isXmlMimeType(supplied)) return keep(supplied);
    const m = context === "image" ? matchImageType(seq) : context === "font" ? matchFontType(seq) : matchAudioOrVideoType(seq);
    if (m !== undefined) return computed(m);
    return supplied === null ? computed("application/octet-stream") : keep(supplied);
  }

  if (supplied === null || UNKNOWN_TYPES.has(supplied.essence)) return computed(identifyUnknownMimeType(seq, !noSniff));
  if (noSniff) return keep(supplied);
  const apacheBug = options.checkApacheBug ?? (suppliedType !== null && APACHE_BUG_TYPES.has(suppliedType));
  if (apacheBug) {
    const t = textOrBinary(seq);
    // Text stays what the server said (keeping its charset); binary becomes octet-stream.
    return t === "text/plain" && supplied.essence === "text/plain" ? keep(supplied) : computed(t);
  }
  if (isXmlMimeType(supplied)) return keep(supplied);
  if (isHtmlMimeType(supplied)) {
    const feed = feedOrHtml(seq);
    return feed === null ? keep(supplied) : computed(feed);
  }
  if (isImageMimeType(supplied)) {
    const m = matchImageType(seq);
    if (m !== undefined) return computed(m);
  }
  if (isAudioOrVideoMimeType(supplied)) {
    const m = matchAudioOrVideoType(seq);
    if (m !== undefined) return computed(m);
  }
  return keep(supplied);
}

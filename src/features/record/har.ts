/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): the subset of the format the
 * Recorder writes and the Replayer reads, and the checks that refuse anything else. Fields
 * the spec requires are always written (`cookies: []`, `headersSize: -1` when unknown);
 * sessionkit's own fields start with an underscore, as the spec allows for custom fields.
 *
 * As in browsers' HAR files, `response.content.text` is the decoded body (no
 * Content-Encoding applied) while `response.headers` are the headers as received; a body
 * that could not be decoded is kept encoded and marked `_encoded: true`.
 */
import { readFileSync } from "node:fs";
import { HarFormatError } from "./errors.js";

export interface HarHeader {
  name: string;
  value: string;
}

export interface HarPostData {
  mimeType: string;
  text: string;
  /** sessionkit: "base64" when the request body was not UTF-8 text. */
  _encoding?: "base64";
}

export interface HarRequest {
  method: string;
  url: string;
  httpVersion: string;
  cookies: HarHeader[];
  headers: HarHeader[];
  queryString: HarHeader[];
  postData?: HarPostData;
  headersSize: number;
  bodySize: number;
  /** sessionkit: the body was a stream and was not captured (body matching skips it). */
  _bodyNotCaptured?: boolean;
}

export interface HarContent {
  size: number;
  mimeType: string;
  text?: string;
  encoding?: "base64";
  /** sessionkit: `text` is still Content-Encoded (the coding was unknown or the body corrupt). */
  _encoded?: boolean;
  /** sessionkit: the body was longer than the Recorder's maxBodySize and was cut. */
  _truncated?: boolean;
}

export interface HarResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  cookies: HarHeader[];
  headers: HarHeader[];
  content: HarContent;
  redirectURL: string;
  headersSize: number;
  bodySize: number;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: HarRequest;
  response: HarResponse;
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
}

export interface Har {
  log: {
    version: string;
    creator: { name: string; version: string };
    entries: HarEntry[];
  };
}

/** Header pairs of a flat list, as HAR wants them. */
export function harHeaders(pairs: Iterable<[string, string]>): HarHeader[] {
  const out: HarHeader[] = [];
  for (const [name, value] of pairs) out.push({ name, value });
  return out;
}

/** The first value of `name` in HAR headers (case-insensitive), or null. */
export function harHeader(headers: readonly HarHeader[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const h of headers) if (h.name.toLowerCase() === lower) return h.value;
  return null;
}

/** Text when the bytes are UTF-8 without NUL, else base64 (as HAR's content.encoding says). */
export function encodeBytes(bytes: Uint8Array): { text: string; encoding?: "base64" } {
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    if (!text.includes("\u0000")) return { text };
  } catch {
    // not UTF-8: fall through
  }
  return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64"), encoding: "base64" };
}

export function decodeText(text: string | undefined, encoding: string | undefined): Uint8Array {
  if (text === undefined) return new Uint8Array(0);
  return encoding === "base64" ? new Uint8Array(Buffer.from(text, "base64")) : new Uint8Array(Buffer.from(text, "utf8"));
}

/** Reads and checks a HAR file (or checks a parsed one). */
export function loadHar(source: string | Har): Har {
  let har: unknown = source;
  if (typeof source === "string") {
    let text: string;
    try {
      text = readFileSync(source, "utf8");
    } catch (err) {
      throw new HarFormatError(`Cannot read the HAR file ${source}: ${(err as NodeJS.ErrnoException).code ?? "error"}`, { cause: err });
    }
    try {
      har = JSON.parse(text);
    } catch (err) {
      throw new HarFormatError(`The HAR file ${source} is not JSON`, { cause: err });
    }
  }
  assertHar(har);
  return har;
}

function assertHar(har: unknown): asserts har is Har {
  const log = (har as Har | null)?.log;
  if (typeof log !== "object" || log === null || !Array.isArray(log.entries)) throw new HarFormatError("Not a HAR: log.entries is missing");
  if (typeof log.version !== "string" || !log.version.startsWith("1.")) throw new HarFormatError("Not a HAR 1.x file: log.version");
  log.entries.forEach((e, i) => {
    const req = e?.request;
    const res = e?.response;
    const ok =
      typeof req?.method === "string" &&
      typeof req.url === "string" &&
      Array.isArray(req.headers) &&
      Number.isInteger(res?.status) &&
      Array.isArray(res.headers) &&
      typeof res.content === "object" &&
      res.content !== null &&
      res.headers.every((h) => typeof h?.name === "string" && typeof h.value === "string");
    if (!ok) throw new HarFormatError(`HAR entry ${i} lacks request.method/url/headers or response.status/headers/content`);
  });
}

/**
 * The wire protocol, version 1 (WebSocket subprotocol `sessionkit.realtime.v1`).
 *
 * Every frame is a WebSocket text frame holding one JSON object with a type `t`.
 *
 *   client → server, first frame:  hello  {t:"hello", v, principal, credentials, properties}
 *                                  resume {t:"resume", v, sessionId, token, ack}
 *   server → client, answer:       welcome {t:"welcome", sessionId, token, properties, ack, ping, keepAlive, maxMessageSize}
 *                                  resumed {t:"resumed", ack, ping, keepAlive, maxMessageSize}
 *   both ways, sequenced:          m {t:"m", s, p, d|b}          one-way message to a path
 *                                  q {t:"q", s, p, d|b}          request to a path
 *                                  r {t:"r", s, c, d|b|e}        response to request number c
 *   both ways, not sequenced:      a {t:"a", a}                  "I have everything up to a"
 *                                  ping {t:"ping", ts} / pong {t:"pong", ts, now}
 *
 * `s` numbers each side's sequenced frames from 1 without gaps; `ack` and `a` carry the
 * highest `s` received. A value is JSON in `d`, or bytes as base64 in `b` (so a
 * Uint8Array comes back as a Uint8Array). Rejections are WebSocket close frames with
 * code 4000 + CloseReason id (see close-reason.ts).
 */
import { SessionKitError } from "../errors.js";

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = "sessionkit.realtime.v1";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
/** What can be sent: anything JSON can carry, or bytes. */
export type Value = JsonValue | Uint8Array;

export interface HelloFrame {
  t: "hello";
  v: number;
  principal: string;
  credentials: string;
  properties: Record<string, string>;
}
export interface ResumeFrame {
  t: "resume";
  v: number;
  sessionId: string;
  token: string;
  ack: number;
}
export interface WelcomeFrame {
  t: "welcome";
  sessionId: string;
  token: string;
  properties: Record<string, string>;
  ack: number;
  ping: number;
  keepAlive: number;
  maxMessageSize: number;
}
export interface ResumedFrame {
  t: "resumed";
  ack: number;
  ping: number;
  keepAlive: number;
  maxMessageSize: number;
}
export interface MessageFrame {
  t: "m" | "q";
  s: number;
  p: string;
  value: Value;
}
export interface ResponseFrame {
  t: "r";
  s: number;
  c: number;
  value?: Value;
  error?: { code: string; message: string };
}
export interface AckFrame {
  t: "a";
  a: number;
}
export interface PingFrame {
  t: "ping" | "pong";
  ts: number;
  now?: number;
}

export type SequencedFrame = MessageFrame | ResponseFrame;
export type Frame = HelloFrame | ResumeFrame | WelcomeFrame | ResumedFrame | SequencedFrame | AckFrame | PingFrame;

const MAX_PATH_LENGTH = 1024;
/** Longest error code and message accepted in a response frame (characters). */
const MAX_ERROR_CODE_LENGTH = 256;

/**
 * Deepest nesting of arrays and objects accepted in a value by default (the frame's own
 * object not counted). Deeper values are refused before `JSON.parse`, so nothing a peer
 * sends can make either end recurse without limit (`JSON.stringify` of an echoed
 * 10,000-deep array overflows the stack).
 */
export const DEFAULT_MAX_VALUE_DEPTH = 64;

/** A frame that does not follow the protocol. The message names the problem, never the payload. */
export class ProtocolViolation extends Error {}

/** A frame whose value is nested deeper than allowed (a ProtocolViolation with its own close reason). */
export class ValueTooDeep extends ProtocolViolation {}

/**
 * A value that cannot be sent: a cycle, a BigInt, nesting deep enough to overflow the
 * stack (`INVALID_VALUE`). Nothing was sent.
 */
export class InvalidValueError extends SessionKitError {
  constructor(problem: string, options?: { cause?: unknown }) {
    super("INVALID_VALUE", `The value cannot be sent: ${problem}`, options);
  }
}

/** The JSON members that carry a value, without braces: `"d":…` or `"b":"…"`. */
export function encodeValue(value: Value): string {
  if (value instanceof Uint8Array) {
    return `"b":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}"`;
  }
  if (value === undefined) return `"d":null`;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    // TypeError (cycle, BigInt) or RangeError (too deep for the stack): the caller's
    // problem, reported as a typed error instead of escaping from a socket callback.
    throw new InvalidValueError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  // A function or a symbol at the top serialises to nothing: send null, as inside arrays.
  return `"d":${json ?? "null"}`;
}

/**
 * The part of a sequenced frame after its sequence number. Kept as a string so that a
 * frame is serialised once and the same bytes are replayed after a reconnect (and, in a
 * cluster, stored in Redis before the number is known).
 */
export function messageBody(kind: "m" | "q", path: string, value: Value): string {
  return `"t":"${kind}","p":${quotedPath(path)},${encodeValue(value)}`;
}

// Applications use a handful of paths over and over: quote each once (bounded, so a
// stream of distinct paths cannot grow it without limit).
const quoted = new Map<string, string>();
function quotedPath(path: string): string {
  let q = quoted.get(path);
  if (q === undefined) {
    q = JSON.stringify(path);
    if (quoted.size < 1024) quoted.set(path, q);
  }
  return q;
}

export function responseBody(requestSeq: number, result: { value: Value } | { error: { code: string; message: string } }): string {
  return "value" in result
    ? `"t":"r","c":${requestSeq},${encodeValue(result.value)}`
    : `"t":"r","c":${requestSeq},"e":${JSON.stringify({ code: String(result.error.code), message: String(result.error.message) })}`;
}

export function sequencedText(seq: number, body: string): string {
  return `{"s":${seq},${body}}`;
}

export function isValidPath(path: unknown): path is string {
  return typeof path === "string" && path.length > 0 && path.length <= MAX_PATH_LENGTH;
}

function isSeq(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function isPlainObject(o: unknown): o is Record<string, unknown> {
  return typeof o === "object" && o !== null && !Array.isArray(o);
}

function isStringMap(o: unknown): o is Record<string, string> {
  if (!isPlainObject(o)) return false;
  for (const k in o) if (typeof o[k] !== "string") return false;
  return true;
}

// Value of each base64 character + 1 (0: not base64), for the strict check below.
const B64 = new Uint8Array(128);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => (B64[c.charCodeAt(0)] = i + 1));

/**
 * Strict, canonical base64 (RFC 4648 §4 with padding): Node's decoder skips characters it
 * does not know, so `"%%%"` would otherwise decode to zero bytes. One pass, no regex.
 */
export function isCanonicalBase64(s: string): boolean {
  const n = s.length;
  if (n % 4 !== 0) return false;
  let pad = 0;
  if (n > 0 && s.charCodeAt(n - 1) === 61) pad = s.charCodeAt(n - 2) === 61 ? 2 : 1;
  const end = n - pad;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || B64[c] === 0) return false;
  }
  if (pad === 0) return true;
  // The bits after the last byte must be zero, so that one byte string has one encoding.
  const last = B64[s.charCodeAt(end - 1)]! - 1;
  return pad === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

function decodeValue(o: Record<string, unknown>): Value {
  const hasB = o.b !== undefined;
  const hasD = o.d !== undefined;
  if (hasB && hasD) throw new ProtocolViolation("frame has two values");
  if (hasB) {
    if (typeof o.b !== "string" || !isCanonicalBase64(o.b)) throw new ProtocolViolation("frame bytes are not base64");
    return new Uint8Array(Buffer.from(o.b, "base64"));
  }
  if (hasD) return o.d as JsonValue;
  throw new ProtocolViolation("frame has no value");
}

/**
 * Nesting depth of the JSON text's arrays and objects, stopping as soon as it passes
 * `limit`. One pass over the characters, skipping strings; linear, no recursion. Only
 * exact for valid JSON, which is all that matters: anything else fails to parse next.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: skip to its closing quote, stepping over escapes
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

export interface ParseOptions {
  /** Deepest nesting accepted inside a value. @default DEFAULT_MAX_VALUE_DEPTH */
  maxValueDepth?: number;
}

/**
 * Parses and validates one text frame: every field's type, strict base64, the depth of
 * values. Throws ProtocolViolation (ValueTooDeep for depth) on anything unexpected, never
 * another kind of error.
 */
export function parseFrame(text: string, options?: ParseOptions): Frame {
  // +1: the frame's own object. Checked before parsing so no deep structure is ever built.
  // Valid JSON deeper than `limit` needs more than `limit` brackets opened *and* closed, so
  // shorter frames (most of them) skip the scan: if one were deeper it would not parse.
  const limit = (options?.maxValueDepth ?? DEFAULT_MAX_VALUE_DEPTH) + 1;
  if (text.length > 2 * limit && jsonDepthExceeds(text, limit)) {
    throw new ValueTooDeep("a value is nested too deeply");
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new ProtocolViolation("frame is not JSON");
  }
  if (!isPlainObject(o)) throw new ProtocolViolation("frame is not an object");
  const f = o;
  switch (f.t) {
    case "m":
    case "q":
      if (!isSeq(f.s) || f.s === 0 || !isValidPath(f.p)) throw new ProtocolViolation("bad message frame");
      return { t: f.t, s: f.s, p: f.p, value: decodeValue(f) };
    case "r": {
      if (!isSeq(f.s) || f.s === 0 || !isSeq(f.c)) throw new ProtocolViolation("bad response frame");
      if (f.e !== undefined) {
        const e = f.e;
        if (
          !isPlainObject(e) ||
          typeof e.code !== "string" ||
          typeof e.message !== "string" ||
          e.code.length === 0 ||
          e.code.length > MAX_ERROR_CODE_LENGTH ||
          f.d !== undefined ||
          f.b !== undefined
        ) {
          throw new ProtocolViolation("bad error response frame");
        }
        return { t: "r", s: f.s, c: f.c, error: { code: e.code, message: e.message } };
      }
      return { t: "r", s: f.s, c: f.c, value: decodeValue(f) };
    }
    case "a":
      if (!isSeq(f.a)) throw new ProtocolViolation("bad ack frame");
      return { t: "a", a: f.a };
    case "ping":
    case "pong":
      if (typeof f.ts !== "number" || !Number.isFinite(f.ts) || (f.now !== undefined && typeof f.now !== "number")) {
        throw new ProtocolViolation("bad ping frame");
      }
      return { t: f.t, ts: f.ts, now: f.now as number | undefined };
    case "hello":
      if (
        !isSeq(f.v) ||
        typeof f.principal !== "string" ||
        typeof f.credentials !== "string" ||
        (f.properties !== undefined && typeof f.properties !== "object")
      ) {
        throw new ProtocolViolation("bad hello frame");
      }
      // The property values are checked by the handshake (checkUserProperties), which
      // refuses with HANDSHAKE_REJECTED and says which property is wrong.
      return { t: "hello", v: f.v, principal: f.principal, credentials: f.credentials, properties: (f.properties ?? {}) as Record<string, string> };
    case "resume":
      if (!isSeq(f.v) || typeof f.sessionId !== "string" || typeof f.token !== "string" || !isSeq(f.ack)) {
        throw new ProtocolViolation("bad resume frame");
      }
      return { t: "resume", v: f.v, sessionId: f.sessionId, token: f.token, ack: f.ack };
    case "welcome":
      if (typeof f.sessionId !== "string" || typeof f.token !== "string" || !isStringMap(f.properties) || !isSeq(f.ack) || !settingsValid(f)) {
        throw new ProtocolViolation("bad welcome frame");
      }
      return {
        t: "welcome",
        sessionId: f.sessionId,
        token: f.token,
        properties: f.properties,
        ack: f.ack,
        ping: f.ping as number,
        keepAlive: f.keepAlive as number,
        maxMessageSize: f.maxMessageSize as number,
      };
    case "resumed":
      if (!isSeq(f.ack) || !settingsValid(f)) throw new ProtocolViolation("bad resumed frame");
      return { t: "resumed", ack: f.ack, ping: f.ping as number, keepAlive: f.keepAlive as number, maxMessageSize: f.maxMessageSize as number };
    default:
      throw new ProtocolViolation("unknown frame type");
  }
}

/** The timing and size settings of a welcome or resumed frame: positive numbers. */
function settingsValid(f: Record<string, unknown>): boolean {
  for (const k of ["ping", "keepAlive", "maxMessageSize"]) {
    const v = f[k];
    if (typeof v !== "number" || !(v > 0)) return false;
  }
  return true;
}

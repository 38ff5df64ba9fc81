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

/** A frame that does not follow the protocol. The message names the problem, never the payload. */
export class ProtocolViolation extends Error {}

/** The JSON members that carry a value, without braces: `"d":…` or `"b":"…"`. */
export function encodeValue(value: Value): string {
  if (value instanceof Uint8Array) {
    return `"b":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}"`;
  }
  if (value === undefined) return `"d":null`;
  return `"d":${JSON.stringify(value)}`;
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
    : `"t":"r","c":${requestSeq},"e":${JSON.stringify(result.error)}`;
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

function decodeValue(o: Record<string, unknown>): Value {
  if (typeof o.b === "string") return new Uint8Array(Buffer.from(o.b, "base64"));
  if (o.d !== undefined) return o.d as JsonValue;
  throw new ProtocolViolation("frame has no value");
}

/** Parses and validates one text frame. Throws ProtocolViolation on anything unexpected. */
export function parseFrame(text: string): Frame {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new ProtocolViolation("frame is not JSON");
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new ProtocolViolation("frame is not an object");
  const f = o as Record<string, unknown>;
  switch (f.t) {
    case "m":
    case "q":
      if (!isSeq(f.s) || f.s === 0 || !isValidPath(f.p)) throw new ProtocolViolation("bad message frame");
      return { t: f.t, s: f.s, p: f.p, value: decodeValue(f) };
    case "r": {
      if (!isSeq(f.s) || f.s === 0 || !isSeq(f.c)) throw new ProtocolViolation("bad response frame");
      if (typeof f.e === "object" && f.e !== null) {
        const e = f.e as Record<string, unknown>;
        return { t: "r", s: f.s, c: f.c, error: { code: String(e.code), message: String(e.message) } };
      }
      return { t: "r", s: f.s, c: f.c, value: decodeValue(f) };
    }
    case "a":
      if (!isSeq(f.a)) throw new ProtocolViolation("bad ack frame");
      return { t: "a", a: f.a };
    case "ping":
    case "pong":
      if (typeof f.ts !== "number") throw new ProtocolViolation("bad ping frame");
      return { t: f.t, ts: f.ts, now: typeof f.now === "number" ? f.now : undefined };
    case "hello":
      if (typeof f.v !== "number" || typeof f.principal !== "string" || typeof f.credentials !== "string") {
        throw new ProtocolViolation("bad hello frame");
      }
      return { t: "hello", v: f.v, principal: f.principal, credentials: f.credentials, properties: (f.properties ?? {}) as Record<string, string> };
    case "resume":
      if (typeof f.v !== "number" || typeof f.sessionId !== "string" || typeof f.token !== "string" || !isSeq(f.ack)) {
        throw new ProtocolViolation("bad resume frame");
      }
      return { t: "resume", v: f.v, sessionId: f.sessionId, token: f.token, ack: f.ack };
    case "welcome":
      if (typeof f.sessionId !== "string" || typeof f.token !== "string" || !isSeq(f.ack) || typeof f.ping !== "number") {
        throw new ProtocolViolation("bad welcome frame");
      }
      return f as unknown as WelcomeFrame;
    case "resumed":
      if (!isSeq(f.ack) || typeof f.ping !== "number") throw new ProtocolViolation("bad resumed frame");
      return f as unknown as ResumedFrame;
    default:
      throw new ProtocolViolation("unknown frame type");
  }
}

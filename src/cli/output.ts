/**
 * What the request command prints: the status line, headers and body, coloured on a
 * terminal (HTTPie's palette), plain when piped or when NO_COLOR is set. Formatting only:
 * the message and its headers come from the library as they are.
 */
const ESC = "\x1b[";
export const C = {
  reset: `${ESC}0m`,
  bold: `${ESC}1m`,
  dim: `${ESC}2m`,
  red: `${ESC}31m`,
  green: `${ESC}32m`,
  yellow: `${ESC}33m`,
  blue: `${ESC}34m`,
  magenta: `${ESC}35m`,
  cyan: `${ESC}36m`,
} as const;

/** Colour when the stream is a terminal, NO_COLOR is unset (https://no-color.org) and TERM is not dumb. */
export function wantsColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

export class Painter {
  constructor(readonly color: boolean) {}

  paint(code: string, text: string): string {
    return this.color ? `${code}${text}${C.reset}` : text;
  }

  statusLine(version: string, status: number, reason: string): string {
    const tone = status >= 500 || status >= 400 ? C.red : status >= 300 ? C.yellow : C.green;
    return `${this.paint(C.blue, "HTTP")}/${this.paint(C.blue, version)} ${this.paint(C.bold + tone, `${status} ${reason}`.trimEnd())}`;
  }

  requestLine(method: string, target: string): string {
    return `${this.paint(C.green, method)} ${this.paint(C.cyan, target)} ${this.paint(C.blue, "HTTP")}/${this.paint(C.blue, "1.1")}`;
  }

  header(name: string, value: string): string {
    return `${this.paint(C.cyan, name)}: ${value}`;
  }

  /** JSON pretty-printed with 4 spaces (as HTTPie), keys and values coloured. */
  json(value: unknown): string {
    const text = JSON.stringify(value, null, 4) ?? "null";
    if (!this.color) return text;
    return text.replace(
      /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
      (m, str: string | undefined, colon: string | undefined, lit: string | undefined, num: string | undefined) => {
        if (str !== undefined) return colon ? `${C.blue}${str}${C.reset}${colon}` : `${C.yellow}${str}${C.reset}`;
        if (lit !== undefined) return `${C.magenta}${lit}${C.reset}`;
        if (num !== undefined) return `${C.cyan}${num}${C.reset}`;
        return m;
      },
    );
  }
}

export function isJsonType(contentType: string | null): boolean {
  const t = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json") || t === "text/json" || t === "application/x-ndjson";
}

export function isTextType(contentType: string | null): boolean {
  const t = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return t.startsWith("text/") || isJsonType(contentType) || /^application\/(xml|javascript|x-www-form-urlencoded)|\+xml$/.test(t);
}

/** A NUL in the first bytes, or bytes that are not UTF-8, mean binary (HTTPie's test). */
export function looksBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 1024);
  if (head.includes(0)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(head.length < bytes.length ? trimPartial(head) : head);
    return false;
  } catch {
    return true;
  }
}

/** Drops a UTF-8 sequence cut at the end of a prefix, so a prefix of text is still text. */
function trimPartial(b: Uint8Array): Uint8Array {
  let end = b.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const byte = b[end - i];
    if ((byte & 0xc0) === 0x80) continue;
    if (byte >= 0xc0) end -= i;
    break;
  }
  return b.subarray(0, end);
}

export const BINARY_NOTE =
  "+-----------------------------------------+\n| NOTE: binary data not shown in terminal |\n+-----------------------------------------+";

/** A response body for the terminal: JSON pretty and coloured, text as is, binary as a note. */
export function formatBody(bytes: Uint8Array, contentType: string | null, painter: Painter): string {
  if (bytes.length === 0) return "";
  if (looksBinary(bytes)) return BINARY_NOTE;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (isJsonType(contentType) || /^\s*[[{]/.test(text)) {
    try {
      return painter.json(JSON.parse(text));
    } catch {
      // not JSON after all: shown as text
    }
  }
  return text;
}

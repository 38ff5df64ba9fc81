/**
 * The download progress bar. Everything that measures a download lives in this file, so it
 * can move to the Message's own progress events (issue 15) by changing only this module:
 *
 * - decoded bytes are counted on the body stream the command reads anyway;
 * - wire bytes (before gzip/br/deflate decoding) are counted by WireCounter, a session
 *   feature ordered just before the ContentDecoder that passes the still-encoded body
 *   through a counting Transform, for the one message being downloaded and only when it has
 *   a Content-Encoding (otherwise wire and decoded bytes are the same number).
 */
import { Transform, type Readable } from "node:stream";

/** The ContentDecoder's place in the feature order (FeatureOrder.DECODER) minus one. */
const BEFORE_DECODER = 49;

export class WireCounter {
  readonly order = BEFORE_DECODER;
  bytes = 0;
  constructor(readonly target: object) {}

  wrapBody(msg: object & { responseHeaders: { get(name: string): string | null } }, body: Readable): Readable {
    if (msg !== this.target || msg.responseHeaders.get("Content-Encoding") === null) return body;
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.bytes += chunk.length;
        cb(null, chunk);
      },
    });
    body.on("error", (err) => counter.destroy(err));
    counter.on("close", () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
    });
    return body.pipe(counter);
  }
}

const UNITS = ["B", "kB", "MB", "GB", "TB"];

export function humanBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[i]}`;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export interface ProgressOptions {
  /** Content-Length: bytes on the wire (encoded when Content-Encoding is set). */
  total: number | null;
  /** Whether wire and decoded bytes differ (a Content-Encoding). */
  encoded: boolean;
  wire: WireCounter | null;
  color: boolean;
  columns: number;
  write: (text: string) => void;
  now?: () => number;
}

export class DownloadProgress {
  decoded = 0;
  readonly #o: ProgressOptions;
  readonly #start: number;
  #last = 0;
  #now: () => number;

  constructor(options: ProgressOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Bytes on the wire so far. */
  get wire(): number {
    return this.#o.encoded ? (this.#o.wire?.bytes ?? 0) : this.decoded;
  }

  /** Counts a decoded chunk; redraws at most every 100 ms. */
  add(n: number): void {
    this.decoded += n;
    const t = this.#now();
    if (t - this.#last >= 100) {
      this.#last = t;
      this.#o.write(`\r${this.line(t)}\x1b[K`);
    }
  }

  /** The bar for time `t`: percent and bar when the size is known, bytes, rate, ETA. */
  line(t = this.#now()): string {
    const { total, encoded, color, columns } = this.#o;
    const secs = Math.max((t - this.#start) / 1000, 0.001);
    const rate = this.wire / secs;
    const parts: string[] = [];
    if (total !== null && total > 0) {
      const frac = Math.min(this.wire / total, 1);
      const width = Math.max(10, Math.min(30, columns - 60));
      const done = Math.round(frac * width);
      const bar = "=".repeat(Math.max(done - 1, 0)) + (done > 0 ? ">" : "") + " ".repeat(width - done);
      parts.push(`${String(Math.floor(frac * 100)).padStart(3)}%`, `[${color ? `\x1b[32m${bar}\x1b[0m` : bar}]`);
      parts.push(`${humanBytes(this.wire)} / ${humanBytes(total)}`);
    } else parts.push(humanBytes(this.wire));
    parts.push(`${humanBytes(rate)}/s`);
    if (total !== null && total > 0) parts.push(`ETA ${clock((total - this.wire) / Math.max(rate, 1))}`);
    if (encoded) parts.push(`(${humanBytes(this.decoded)} decoded)`);
    return parts.join("  ");
  }

  /** The closing line, HTTPie-like: `Done. 2.6 MB in 0:01 (2.1 MB/s)`. */
  finish(): void {
    const secs = Math.max((this.#now() - this.#start) / 1000, 0.001);
    const wire = this.wire;
    const extra = this.#o.encoded ? `, ${humanBytes(this.decoded)} decoded` : "";
    this.#o.write(`\r\x1b[KDone. ${humanBytes(wire)} in ${secs.toFixed(1)} s (${humanBytes(wire / secs)}/s${extra})\n`);
  }
}

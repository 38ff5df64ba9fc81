/**
 * Reads the start of a response body to look at it, and gives back a stream that still
 * yields the whole body. The credential session needs this because "token expired" is
 * often only in the body of a 400/401 (atproto's `{"error":"ExpiredToken"}`) or even of a
 * 200 (astrometry.net's `{"status":"error"}`), which the gotHeaders hook cannot see. Only
 * small bodies are held: past `cap` bytes we stop looking and stream the rest through.
 */
import { Readable } from "node:stream";
import { mapTransportError } from "../http/transport-errors.js";

export type Peeked = { complete: true; bytes: Buffer } | { complete: false; stream: Readable };

export function peekBody(stream: Readable, cap: number): Promise<Peeked> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      if (size > cap) {
        // Too big to be an error document: hand the bytes seen plus the rest to the caller.
        stream.pause();
        cleanup();
        resolve({ complete: false, stream: Readable.from(replay(chunks, stream), { objectMode: false }) });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({ complete: true, bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(mapTransportError(err));
    };
    const onClose = () => {
      if (stream.readableEnded) return;
      cleanup();
      reject(mapTransportError(stream.errored ?? new Error("The response body closed before it ended")));
    };
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", onError);
    stream.once("close", onClose);
  });
}

async function* replay(head: Buffer[], rest: Readable): AsyncGenerator<Buffer> {
  yield* head;
  // Leaving this loop early (the caller destroyed the stream) destroys `rest`, which ends
  // the message in the session and frees its connection.
  for await (const c of rest) yield c as Buffer;
}

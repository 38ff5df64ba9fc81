/**
 * Fuzz: the response-body decoders. ContentDecoder on random bytes under random
 * Content-Encoding values ends or fails with DecodeError (DECODE_FAILED, TOO_MANY_CODINGS);
 * the MIME sniffer returns a type for any bytes and any supplied Content-Type.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { DecodeError } from "../../src/errors.js";
import { ContentDecoder } from "../../src/features/content-decoder.js";
import { sniffMimeType } from "../../src/features/sniffer/mime-sniff.js";
import { MessageHeaders } from "../../src/http/headers.js";
import { Message } from "../../src/http/message.js";
import { anyHeader } from "./arbitraries.js";
import { fuzz, fuzzAsync, summary } from "./harness.js";

const coding = fc.constantFrom("gzip", "x-gzip", "deflate", "br", "identity", "GZIP", " gzip ", "", "x-unknown");
/** Bytes: noise, or a real compressed body (then truncated or corrupted at random). */
const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc
    .tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom("gzip", "deflate", "deflateRaw", "br"), fc.nat(400), fc.nat(255))
    .map(([plain, how, cut, flip]) => {
      const z = { gzip: zlib.gzipSync, deflate: zlib.deflateSync, deflateRaw: zlib.deflateRawSync, br: zlib.brotliCompressSync }[how](plain);
      const out = Buffer.from(z.subarray(0, Math.max(1, z.length - (cut % 8))));
      if (flip % 3 === 0 && out.length > 4) out[flip % out.length] ^= 0xff;
      return new Uint8Array(out);
    }),
);

async function drain(r: Readable): Promise<number> {
  let n = 0;
  for await (const c of r) n += (c as Buffer).length;
  return n;
}

describe("fuzz: body decoders", () => {
  after(() => console.log(summary()));

  it("ContentDecoder: a body or DecodeError, for any bytes and any coding list", async () => {
    const decoder = new ContentDecoder();
    await fuzzAsync(
      "content decoder",
      fc.tuple(fc.array(coding, { maxLength: 8 }), body, fc.nat(64)),
      async ([codings, bytes, split]) => {
        const msg = new Message("GET", "http://example.test/");
        msg.responseHeaders = new MessageHeaders({ "Content-Encoding": codings.join(",") });
        const chunks = split > 0 && bytes.length > split ? [bytes.subarray(0, split), bytes.subarray(split)] : [bytes];
        try {
          const out = decoder.wrapBody(msg, Readable.from(chunks.map((c) => Buffer.from(c))));
          await drain(out);
        } catch (err) {
          assert.ok(err instanceof DecodeError, `untyped: ${String(err)}`);
        }
      },
      { numRuns: 1500, timeMs: 1000 },
    );
  });

  it("MIME sniffing: a type for any bytes and any supplied Content-Type", () => {
    const context = fc.constantFrom("browsing", "image", "audio-video", "font") as fc.Arbitrary<"browsing" | "image" | "audio-video" | "font">;
    const input = fc.tuple(fc.uint8Array({ maxLength: 1500 }), fc.option(anyHeader), fc.boolean(), context);
    fuzz("mime sniff", input, ([bytes, supplied, noSniff, ctx]) => {
      const r = sniffMimeType(bytes, supplied, { noSniff, context: ctx });
      assert.equal(typeof r.contentType, "string");
    });
  });
});

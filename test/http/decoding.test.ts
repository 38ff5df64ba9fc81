/**
 * ContentDecoder through a real Session: every supported coding, stacked codings, the
 * Accept-Encoding it sends, bodies it must leave alone, and corrupt or truncated
 * compressed bodies, which must fail with DECODE_FAILED rather than come back short.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { DecodeError } from "../../src/errors.js";
import { ContentDecoder, SUPPORTED_ENCODINGS } from "../../src/features/content-decoder.js";
import { Message } from "../../src/http/message.js";
import { newSession, rejectsWithCode, startServer, text, type TestServer } from "./helpers.js";

const PLAIN = "The quick brown fox jumps over the lazy dog. ".repeat(200);
const zstdCompress = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;

/** Serves `body` with `Content-Encoding: encoding` (Content-Length set unless chunked). */
function serve(encoding: string | null, body: Buffer, opts: { chunked?: boolean; status?: number } = {}): Promise<TestServer> {
  return startServer((_req, res) => {
    const headers: Record<string, string> = { "Content-Type": "text/plain" };
    if (encoding !== null) headers["Content-Encoding"] = encoding;
    if (!opts.chunked) headers["Content-Length"] = String(body.length);
    res.writeHead(opts.status ?? 200, headers);
    if (opts.chunked) {
      // Dribble the body in small pieces to exercise the streaming path.
      for (let i = 0; i < body.length; i += 97) res.write(body.subarray(i, i + 97));
      res.end();
    } else res.end(body);
  });
}

const codings: Array<[string, (b: Buffer) => Buffer]> = [
  ["gzip", (b) => zlib.gzipSync(b)],
  ["x-gzip", (b) => zlib.gzipSync(b)],
  ["deflate", (b) => zlib.deflateSync(b)],
  ["br", (b) => zlib.brotliCompressSync(b)],
];

describe("ContentDecoder", () => {
  it("is a default feature and advertises what it decodes", async () => {
    const srv = await serve(null, Buffer.from("x"));
    const s = newSession();
    assert.ok(s.hasFeature(ContentDecoder));
    await s.sendAndRead(new Message("GET", `${srv.url}/`));
    const ae = srv.requests[0].headers["accept-encoding"] ?? "";
    assert.deepEqual(
      ae.split(", "),
      SUPPORTED_ENCODINGS.filter((e) => e !== "x-gzip"),
    );
    assert.ok(ae.includes("gzip") && ae.includes("deflate") && ae.includes("br"));
  });

  it("keeps an Accept-Encoding the message already has", async () => {
    const srv = await serve(null, Buffer.from("x"));
    const s = newSession();
    const msg = new Message("GET", `${srv.url}/`);
    msg.requestHeaders.set("Accept-Encoding", "identity");
    await s.sendAndRead(msg);
    assert.equal(srv.requests[0].headers["accept-encoding"], "identity");
  });

  for (const [name, compress] of codings) {
    for (const chunked of [false, true]) {
      it(`decodes ${name}${chunked ? " (chunked, in small pieces)" : ""}`, async () => {
        const srv = await serve(name, compress(Buffer.from(PLAIN)), { chunked });
        const s = newSession();
        const msg = new Message("GET", `${srv.url}/`);
        assert.equal(text(await s.sendAndRead(msg)), PLAIN);
        assert.equal(msg.responseHeaders.get("Content-Encoding"), name);
      });
    }
  }

  it("decodes raw deflate (no zlib header), as many servers send it", async () => {
    const srv = await serve("deflate", zlib.deflateRawSync(Buffer.from(PLAIN)));
    assert.equal(text(await newSession().sendAndRead(new Message("GET", `${srv.url}/`))), PLAIN);
  });

  it(
    "decodes zstd",
    { skip: zstdCompress === undefined || !SUPPORTED_ENCODINGS.includes("zstd") ? "this Node has no zstd in zlib" : false },
    async () => {
      const srv = await serve("zstd", zstdCompress!(Buffer.from(PLAIN)));
      assert.equal(text(await newSession().sendAndRead(new Message("GET", `${srv.url}/`))), PLAIN);
    },
  );

  it("zstd is advertised only when the runtime can decode it", () => {
    assert.equal(SUPPORTED_ENCODINGS.includes("zstd"), typeof (zlib as unknown as Record<string, unknown>).createZstdDecompress === "function");
  });

  it("decodes stacked codings in reverse order (Content-Encoding: deflate, gzip)", async () => {
    const body = zlib.gzipSync(zlib.deflateSync(Buffer.from(PLAIN)));
    const srv = await serve("deflate, gzip", body);
    assert.equal(text(await newSession().sendAndRead(new Message("GET", `${srv.url}/`))), PLAIN);
  });

  it("decodes stacked codings with raw deflate inside and br outside", async () => {
    const body = zlib.brotliCompressSync(zlib.deflateRawSync(Buffer.from(PLAIN)));
    const srv = await serve("deflate, br", body, { chunked: true });
    assert.equal(text(await newSession().sendAndRead(new Message("GET", `${srv.url}/`))), PLAIN);
  });

  it("a large body streams through with backpressure", async () => {
    const big = Buffer.alloc(4 * 1024 * 1024, "abcdefgh");
    const srv = await serve("gzip", zlib.gzipSync(big), { chunked: true });
    const s = newSession();
    const body = await s.send(new Message("GET", `${srv.url}/`));
    let n = 0;
    for await (const chunk of body) n += chunk.length;
    assert.equal(n, big.length);
  });

  it("identity and unknown codings are passed through undecoded", async () => {
    const s = newSession();
    const a = await serve("identity", Buffer.from("plain"));
    assert.equal(text(await s.sendAndRead(new Message("GET", `${a.url}/`))), "plain");
    const b = await serve("x-custom", Buffer.from("opaque"));
    assert.equal(text(await s.sendAndRead(new Message("GET", `${b.url}/`))), "opaque");
  });

  it("an empty body with Content-Encoding (204, HEAD) is fine", async () => {
    const s = newSession();
    const srv = await serve("gzip", Buffer.alloc(0), { status: 204 });
    const msg = new Message("GET", `${srv.url}/`);
    assert.equal((await s.sendAndRead(msg)).length, 0);
    assert.equal(msg.status, 204);
    const head = await serve("gzip", zlib.gzipSync(Buffer.from(PLAIN)));
    const h = new Message("HEAD", `${head.url}/`);
    assert.equal((await s.sendAndRead(h)).length, 0);
    assert.equal(h.status, 200);
  });

  it("msg.disableFeature(ContentDecoder) hands over the encoded bytes", async () => {
    const gz = zlib.gzipSync(Buffer.from(PLAIN));
    const srv = await serve("gzip", gz);
    const msg = new Message("GET", `${srv.url}/`);
    msg.disableFeature(ContentDecoder);
    const got = await newSession().sendAndRead(msg);
    assert.deepEqual(Buffer.from(got), gz);
    assert.equal(srv.requests[0].headers["accept-encoding"], undefined, "and sends no Accept-Encoding");
  });

  for (const [name, compress] of codings) {
    it(`a corrupt ${name} body fails with DECODE_FAILED`, async () => {
      const good = compress(Buffer.from(PLAIN));
      const bad = Buffer.from(good);
      // Keep the header bytes (so the decoder is chosen and starts), garble the rest.
      for (let i = 10; i < bad.length; i++) bad[i] = (bad[i] * 7 + 13) & 0xff;
      const srv = await serve(name, bad);
      const err = await rejectsWithCode(newSession().sendAndRead(new Message("GET", `${srv.url}/`)), "DECODE_FAILED");
      assert.ok(err instanceof DecodeError);
    });

    it(`a truncated ${name} body fails with DECODE_FAILED (not a silently short body)`, async () => {
      const good = compress(Buffer.from(PLAIN));
      const srv = await serve(name, good.subarray(0, Math.floor(good.length / 2)));
      await rejectsWithCode(newSession().sendAndRead(new Message("GET", `${srv.url}/`)), "DECODE_FAILED");
    });
  }

  it("a body that is not compressed at all but claims gzip fails with DECODE_FAILED", async () => {
    const srv = await serve("gzip", Buffer.from("this is not gzip"));
    await rejectsWithCode(newSession().sendAndRead(new Message("GET", `${srv.url}/`)), "DECODE_FAILED");
  });

  it("a one-byte gzip body fails with DECODE_FAILED", async () => {
    const srv = await serve("gzip", Buffer.from([0x1f]));
    await rejectsWithCode(newSession().sendAndRead(new Message("GET", `${srv.url}/`)), "DECODE_FAILED");
  });

  it("a decode error through send() surfaces while iterating", async () => {
    const srv = await serve("br", Buffer.from("garbage garbage garbage"));
    const body = await newSession().send(new Message("GET", `${srv.url}/`));
    await rejectsWithCode(
      (async () => {
        for await (const _ of body) void _;
      })(),
      "DECODE_FAILED",
    );
  });

  it("after a decode error the session still works", async () => {
    const s = newSession();
    const bad = await serve("gzip", Buffer.from("nope nope nope"));
    await rejectsWithCode(s.sendAndRead(new Message("GET", `${bad.url}/`)), "DECODE_FAILED");
    const good = await serve("gzip", zlib.gzipSync(Buffer.from("fine")));
    assert.equal(text(await s.sendAndRead(new Message("GET", `${good.url}/`))), "fine");
  });
});

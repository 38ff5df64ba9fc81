/**
 * Hostile or broken peers: malformed status lines and headers, control bytes, oversized
 * headers, broken chunked framing, servers that die before or during the body. Every case
 * must end in a typed error with a stable code, never a crash, and leave the session usable.
 */
import assert from "node:assert/strict";
import type net from "node:net";
import { describe, it } from "node:test";
import { ProtocolError, SessionKitError } from "../../src/errors.js";
import { MessageHeaders } from "../../src/http/headers.js";
import { Message } from "../../src/http/message.js";
import { mapTransportError } from "../../src/http/transport-errors.js";
import { newSession, rejectsWithCode, startRawServer, startServer, text } from "./helpers.js";

const get = (url: string) => new Message("GET", url);

const malformed: Array<[string, string]> = [
  ["a control byte (0x01) in a header value", "HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\nContent-Length: 2\r\n\r\nok"],
  ["a NUL in a header value", "HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\nok"],
  ["a space in a header name", "HTTP/1.1 200 OK\r\nBad Header: x\r\nContent-Length: 2\r\n\r\nok"],
  ["a header line without a colon", "HTTP/1.1 200 OK\r\nJunkLine\r\nContent-Length: 2\r\n\r\nok"],
  ["a non-numeric status", "HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok"],
  ["no HTTP at all", "SSH-2.0-OpenSSH_9.0\r\n\r\n"],
  ["a non-numeric Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok"],
  ["a bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n"],
  ["bare LF line endings", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"],
  ["100 KB of headers", `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(100_000)}\r\nContent-Length: 2\r\n\r\nok`],
];

describe("malformed responses", () => {
  for (const [name, response] of malformed) {
    it(`${name} → ProtocolError PROTOCOL_ERROR`, async () => {
      const srv = await startRawServer((s) => s.end(response));
      const s = newSession();
      const err = await rejectsWithCode(s.sendAndRead(get(`${srv.url}/`)), "PROTOCOL_ERROR");
      assert.ok(err instanceof ProtocolError);
      assert.ok(err instanceof SessionKitError);
      assert.doesNotMatch(err.message, /Could not connect/);
    });
  }

  it("the session keeps working after a protocol error", async () => {
    const bad = await startRawServer((s) => s.end("garbage\r\n\r\n"));
    const good = await startServer((_req, res) => res.end("fine"));
    const s = newSession();
    await rejectsWithCode(s.sendAndRead(get(`${bad.url}/`)), "PROTOCOL_ERROR");
    assert.equal(text(await s.sendAndRead(get(`${good.url}/`))), "fine");
    assert.equal(s.connectionCount, 1, "the broken connection was dropped");
  });

  it("response headers with obs-text (bytes ≥ 0x80) are accepted", async () => {
    const srv = await startRawServer((s) =>
      s.end(Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nX-Latin: caf"), Buffer.from([0xe9]), Buffer.from("\r\nContent-Length: 2\r\n\r\nok")])),
    );
    const msg = get(`${srv.url}/`);
    assert.equal(text(await newSession().sendAndRead(msg)), "ok");
    assert.ok(msg.responseHeaders.get("x-latin")?.startsWith("caf"));
  });
});

describe("peers that go away", () => {
  const died = (e: Error & { code?: string }) => e instanceof SessionKitError && ["CONNECTION_RESET", "BODY_INCOMPLETE"].includes(e.code ?? "");

  it("closing before any response → NetworkError CONNECTION_RESET", async () => {
    const srv = await startRawServer((s) => s.end());
    await assert.rejects(newSession().sendAndRead(get(`${srv.url}/`)), { name: "NetworkError", code: "CONNECTION_RESET" });
  });

  it("closing half-way through the headers → CONNECTION_RESET", async () => {
    const srv = await startRawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Le"));
    await rejectsWithCode(newSession().sendAndRead(get(`${srv.url}/`)), "CONNECTION_RESET");
  });

  for (const [name, act] of [
    ["ends the socket", (s: net.Socket) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf")],
    [
      "destroys the socket",
      (s: net.Socket) => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf");
        setTimeout(() => s.destroy(), 20);
      },
    ],
    [
      "dies inside a chunked body",
      (s: net.Socket) => {
        s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n");
        setTimeout(() => s.destroy(), 20);
      },
    ],
  ] as const) {
    it(`a server that ${name} mid-body → a typed error through sendAndRead, send() and fetch`, async () => {
      const srv = await startRawServer(act);
      const s = newSession();
      await assert.rejects(s.sendAndRead(get(`${srv.url}/a`)), died);
      const body = await s.send(get(`${srv.url}/b`));
      await assert.rejects(
        (async () => {
          for await (const _ of body) void _;
        })(),
        died,
      );
      const res = await s.fetch(`${srv.url}/c`);
      await assert.rejects(res.text());
    });
  }

  it("a server dying mid-body is reported as BODY_INCOMPLETE, not as a reset before the response", async () => {
    const srv = await startRawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf"));
    const err = await rejectsWithCode(newSession().sendAndRead(get(`${srv.url}/`)), "BODY_INCOMPLETE");
    assert.ok(err instanceof ProtocolError);
  });

  it("mapTransportError: a connection lost during the body is BODY_INCOMPLETE", () => {
    const sock = Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
    assert.equal((mapTransportError(sock, "body") as SessionKitError).code, "BODY_INCOMPLETE");
    assert.equal((mapTransportError(sock) as SessionKitError).code, "CONNECTION_RESET");
    const parser = Object.assign(new Error("Response does not match the HTTP/1.1 protocol"), { name: "HTTPParserError" });
    assert.equal((mapTransportError(parser) as SessionKitError).code, "PROTOCOL_ERROR");
    const hpe = Object.assign(new Error("x"), { code: "HPE_INVALID_CHUNK_SIZE" });
    assert.equal((mapTransportError(hpe) as SessionKitError).code, "PROTOCOL_ERROR");
    const invalid = Object.assign(new Error("invalid header"), { code: "UND_ERR_INVALID_ARG" });
    assert.equal((mapTransportError(invalid) as SessionKitError).code, "INVALID_ARGUMENT");
  });

  it("a Content-Length shorter than the body sent does not crash; the session goes on", async () => {
    const srv = await startRawServer((s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA"));
    const s = newSession();
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/`))), "ok");
  });
});

describe("bad request input", () => {
  it("CR, LF and NUL in header values are refused up front with INVALID_ARGUMENT", () => {
    const h = new MessageHeaders();
    for (const v of ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"]) {
      assert.throws(() => h.set("X-T", v), { code: "INVALID_ARGUMENT" }, JSON.stringify(v));
      assert.throws(() => h.append("X-T", v), { code: "INVALID_ARGUMENT" });
    }
    h.set("X-T", "tab\tand é");
    assert.equal(h.get("x-t"), "tab\tand é");
  });

  it("other control characters in a request header fail at send time with INVALID_ARGUMENT (not CONNECTION_FAILED)", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const s = newSession();
    for (const v of ["a\x01b", "a\x1fb", "a\x7fb"]) {
      const msg = new Message("GET", `${srv.url}/`);
      msg.requestHeaders.set("X-T", v);
      await rejectsWithCode(s.sendAndRead(msg), "INVALID_ARGUMENT");
    }
    assert.equal(srv.requests.length, 0);
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/`))), "x");
  });

  it("an invalid header name is refused", () => {
    const h = new MessageHeaders();
    for (const n of ["Bad Name", "a:b", "", "é"]) assert.throws(() => h.set(n, "v"), { code: "INVALID_ARGUMENT" });
  });

  it("a request undici refuses (Transfer-Encoding set by hand) is INVALID_ARGUMENT, not CONNECTION_FAILED", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const msg = new Message("POST", `${srv.url}/`);
    msg.requestHeaders.set("Transfer-Encoding", "bogus");
    msg.setRequestBody("text/plain", "x");
    await rejectsWithCode(newSession().sendAndRead(msg), "INVALID_ARGUMENT");
  });

  it("bad methods and URLs are refused synchronously", () => {
    assert.throws(() => new Message("GE T", "http://x/"), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new Message("GET", "not a url"), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new Message("GET", "file:///etc/passwd"), { code: "INVALID_ARGUMENT" });
  });
});

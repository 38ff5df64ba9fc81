/**
 * Logger: NONE / MINIMAL / HEADERS / BODY, the body size cap, per-message filters, a custom
 * printer, and redaction: Authorization, Proxy-Authorization, Cookie, Set-Cookie and
 * Authentication-Info values (and URL userinfo, secret query parameters, secret body
 * fields) never reach the output.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Logger, LoggerLogLevel, redactHeaderValue, redactQuery, type LoggerLogLevelValue } from "../../src/features/logger.js";
import { Message } from "../../src/http/message.js";
import { newSession, startServer, text, until, type TestServer } from "./helpers.js";

interface Line {
  level: LoggerLogLevelValue;
  dir: ">" | "<";
  line: string;
}

function capture(options: ConstructorParameters<typeof Logger>[0] = {}) {
  const lines: Line[] = [];
  const logger = new Logger({ ...options, printer: (level, dir, line) => lines.push({ level, dir, line }) });
  return { logger, lines, out: () => lines.map((l) => `${l.dir} ${l.line}`).join("\n") };
}

const SECRETS = ["s3cr3t-bearer", "pr0xy-pw", "c00kie-val", "set-c00kie-val", "rspauth-s3cr3t", "n3xtn0nce", "us3rinf0-pw", "qu3ry-t0k3n", "b0dy-pw"];

async function leaky(): Promise<TestServer> {
  return startServer((_req, res) => {
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Set-Cookie": ["sid=set-c00kie-val; Path=/; HttpOnly", "other=set-c00kie-val"],
      "Authentication-Info": 'rspauth="rspauth-s3cr3t", nextnonce="n3xtn0nce", qop=auth, nc=00000001',
      "X-Plain": "visible",
    });
    res.end(JSON.stringify({ user: "bob", password: "b0dy-pw", note: "hello" }));
  });
}

function leakyMessage(srv: TestServer): Message {
  const url = new URL(`${srv.url}/login?access_token=qu3ry-t0k3n&page=2`);
  url.username = "alice";
  url.password = "us3rinf0-pw";
  const msg = new Message("POST", url);
  msg.requestHeaders.set("Authorization", "Bearer s3cr3t-bearer");
  msg.requestHeaders.set("Proxy-Authorization", "Basic pr0xy-pw");
  msg.requestHeaders.set("Cookie", "sid=c00kie-val; theme=c00kie-val");
  msg.setRequestBody("application/json", JSON.stringify({ user: "bob", password: "b0dy-pw" }));
  return msg;
}

describe("Logger levels", () => {
  it("NONE prints nothing", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const { logger, lines } = capture({ level: LoggerLogLevel.NONE });
    await newSession({ features: [logger] }).sendAndRead(new Message("GET", `${srv.url}/`));
    assert.deepEqual(lines, []);
  });

  it("MINIMAL (the default) prints the request and status lines, no headers", async () => {
    const srv = await startServer((_req, res) => res.end("x"));
    const { logger, lines, out } = capture();
    assert.equal(logger.level, LoggerLogLevel.MINIMAL);
    await newSession({ features: [logger] }).sendAndRead(new Message("GET", `${srv.url}/p?q=1`));
    assert.deepEqual(
      lines.map((l) => l.dir),
      [">", ">", "<", "<"],
    );
    assert.equal(lines[0].line, "GET /p?q=1 HTTP/1.1");
    assert.match(lines[1].line, /^Sessionkit-Debug: message \d+ to 127\.0\.0\.1:\d+$/);
    assert.equal(lines[2].line, "HTTP/1.1 200 OK");
    assert.doesNotMatch(out(), /User-Agent|Content-Length/i);
    assert.ok(lines.every((l) => l.level === LoggerLogLevel.MINIMAL));
  });

  it("HEADERS adds request and response headers but no bodies", async () => {
    const srv = await startServer((_req, res) => {
      res.setHeader("X-Resp", "r1");
      res.end("the body");
    });
    const { logger, out } = capture({ level: LoggerLogLevel.HEADERS });
    const msg = new Message("POST", `${srv.url}/`);
    msg.requestHeaders.set("X-Req", "q1");
    msg.setRequestBody("text/plain", "request body");
    await newSession({ features: [logger] }).sendAndRead(msg);
    const o = out();
    assert.match(o, /^> Host: 127\.0\.0\.1:\d+$/m);
    assert.match(o, /^> X-Req: q1$/m);
    assert.match(o, /^> User-Agent: sessionkit\//m);
    assert.match(o, /^< x-resp: r1$/im);
    assert.doesNotMatch(o, /request body|the body/);
  });

  it("BODY adds request and response bodies", async () => {
    const srv = await startServer((_req, res) => res.end("line one\nline two"));
    const { logger, out } = capture({ level: LoggerLogLevel.BODY });
    const msg = new Message("POST", `${srv.url}/`);
    msg.setRequestBody("text/plain", "hello server");
    assert.equal(text(await newSession({ features: [logger] }).sendAndRead(msg)), "line one\nline two");
    const o = out();
    assert.match(o, /^> hello server$/m);
    assert.match(o, /^< line one$/m);
    assert.match(o, /^< line two$/m);
  });

  it("BODY respects maxBodySize and says how much was left out", async () => {
    const big = "a".repeat(10_000);
    const srv = await startServer((_req, res) => res.end(big));
    const { logger, out } = capture({ level: LoggerLogLevel.BODY, maxBodySize: 100 });
    const got = await newSession({ features: [logger] }).sendAndRead(new Message("GET", `${srv.url}/`));
    assert.equal(got.length, 10_000, "the caller still gets the whole body");
    const o = out();
    assert.ok(o.includes(`< ${"a".repeat(100)}\n`));
    assert.ok(!o.includes("a".repeat(101)));
    assert.match(o, /\[… 9900 more bytes\]/);
  });

  it("BODY prints binary bodies as a size, and stream request bodies as a note", async () => {
    const srv = await startServer((_req, res) => res.end(Buffer.from([0, 1, 2, 3, 255])));
    const { logger, out } = capture({ level: LoggerLogLevel.BODY });
    const msg = new Message("POST", `${srv.url}/`);
    msg.setRequestBody(
      "application/octet-stream",
      (async function* () {
        yield new Uint8Array([1]);
      })(),
    );
    await newSession({ features: [logger] }).sendAndRead(msg);
    assert.match(out(), /\[binary body, 5 bytes\]/);
    assert.match(out(), /\[streamed body not logged\]/);
  });

  it("a message marked sensitiveBody never has its bodies printed", async () => {
    const srv = await startServer((_req, res) => res.end("token-in-response"));
    const { logger, out } = capture({ level: LoggerLogLevel.BODY });
    const msg = new Message("POST", `${srv.url}/`);
    msg.sensitiveBody = true;
    msg.setRequestBody("text/plain", "plain-secret-request");
    await newSession({ features: [logger] }).sendAndRead(msg);
    assert.doesNotMatch(out(), /token-in-response|plain-secret-request/);
    assert.match(out(), /redacted: message marked sensitive/);
  });

  it("requestFilter and responseFilter pick the level per message", async () => {
    const srv = await startServer((_req, res) => res.end("resp"));
    const { logger, lines } = capture({
      level: LoggerLogLevel.BODY,
      requestFilter: (m) => (m.url.pathname === "/quiet" ? LoggerLogLevel.NONE : LoggerLogLevel.MINIMAL),
      responseFilter: () => LoggerLogLevel.HEADERS,
    });
    const s = newSession({ features: [logger] });
    await s.sendAndRead(new Message("GET", `${srv.url}/quiet`));
    assert.ok(
      lines.every((l) => l.dir === "<"),
      "no request lines for /quiet",
    );
    assert.ok(
      lines.some((l) => /content-length/i.test(l.line)),
      "response headers at HEADERS",
    );
    assert.ok(!lines.some((l) => l.line === "resp"), "no response body below BODY");
    lines.length = 0;
    await s.sendAndRead(new Message("GET", `${srv.url}/loud`));
    assert.equal(lines.filter((l) => l.dir === ">").length, 2, "MINIMAL request lines");
  });

  it("a printer that throws does not break requests; the default printer is console.error", async () => {
    const srv = await startServer((_req, res) => res.end("fine"));
    const logger = new Logger({
      printer: () => {
        throw new Error("printer broke");
      },
    });
    assert.equal(text(await newSession({ features: [logger] }).sendAndRead(new Message("GET", `${srv.url}/`))), "fine");
    const orig = console.error;
    const seen: string[] = [];
    console.error = (...a: unknown[]) => void seen.push(a.join(" "));
    try {
      await newSession({ features: [new Logger()] }).sendAndRead(new Message("GET", `${srv.url}/x`));
    } finally {
      console.error = orig;
    }
    assert.ok(seen.includes("> GET /x HTTP/1.1"), seen.join("|"));
  });

  it("restarts are marked, and each message keeps its id", async () => {
    const srv = await startServer((req, res) => {
      if (req.url === "/a") {
        res.writeHead(302, { Location: "/b" });
        res.end();
      } else res.end("b");
    });
    const { logger, lines } = capture();
    await newSession({ features: [logger] }).sendAndRead(new Message("GET", `${srv.url}/a`));
    const debug = lines.filter((l) => l.line.startsWith("Sessionkit-Debug"));
    assert.match(debug[2].line, /\(restart 1\)$/);
    const ids = new Set(debug.map((l) => /message (\d+)/.exec(l.line)![1]));
    assert.equal(ids.size, 1);
  });

  it("refuses an invalid level", () => {
    assert.throws(() => new Logger({ level: 7 as LoggerLogLevelValue }), { code: "INVALID_ARGUMENT" });
  });
});

describe("Logger redaction", () => {
  it("no secret reaches the output at BODY level, yet the lines are there", async () => {
    const srv = await leaky();
    const { logger, out } = capture({ level: LoggerLogLevel.BODY });
    await newSession({ features: [logger] }).sendAndRead(leakyMessage(srv));
    const o = out();
    for (const secret of SECRETS) assert.ok(!o.includes(secret), `"${secret}" leaked into:\n${o}`);
    assert.match(o, /^> Authorization: Bearer \[REDACTED\]$/m);
    assert.match(o, /^> Proxy-Authorization: Basic \[REDACTED\]$/m);
    assert.match(o, /^> Cookie: sid=\[REDACTED\]; theme=\[REDACTED\]$/m);
    assert.match(o, /^< set-cookie: sid=\[REDACTED\]; Path=\/; HttpOnly$/im);
    assert.match(o, /^< set-cookie: other=\[REDACTED\]$/im);
    assert.match(o, /^< authentication-info: rspauth=\[REDACTED\], nextnonce=\[REDACTED\], qop=\[REDACTED\], nc=\[REDACTED\]$/im);
    assert.match(o, /^< x-plain: visible$/im);
    assert.match(o, /^> POST \/login\?access_token=\[REDACTED\]&page=2 HTTP\/1\.1$/m);
    assert.match(o, /"note":"hello"/);
    // The request really carried the secrets (the redaction is only in the log).
    assert.equal(srv.requests[0].headers.authorization, "Bearer s3cr3t-bearer");
  });

  it("the secrets stay out at every level and through the default printer", async () => {
    const srv = await leaky();
    for (const level of [LoggerLogLevel.MINIMAL, LoggerLogLevel.HEADERS, LoggerLogLevel.BODY]) {
      const seen: string[] = [];
      const orig = console.error;
      console.error = (...a: unknown[]) => void seen.push(a.join(" "));
      try {
        await newSession({ features: [new Logger({ level })] }).sendAndRead(leakyMessage(srv));
      } finally {
        console.error = orig;
      }
      const o = seen.join("\n");
      assert.ok(seen.length > 0);
      for (const secret of SECRETS) assert.ok(!o.includes(secret), `level ${level}: "${secret}" leaked`);
    }
  });

  it("redactHeaderValue handles odd shapes without leaking", () => {
    assert.equal(redactHeaderValue("authorization", "s3cr3t-bare-token"), "[REDACTED]", "a lone word may be a bare token");
    assert.equal(redactHeaderValue("authorization", "Bearer abc"), "Bearer [REDACTED]");
    assert.equal(redactHeaderValue("authorization", 'Digest username="u", response="r"'), "Digest [REDACTED]");
    assert.equal(redactHeaderValue("Authorization", "   "), "[REDACTED]");
    assert.equal(redactHeaderValue("AUTHENTICATION-INFO", "garbage-s3cr3t"), "[REDACTED]");
    assert.equal(redactHeaderValue("Authentication-Info", 'nextnonce="unterminated s3cr3t'), "[REDACTED]");
    assert.equal(redactHeaderValue("Authentication-Info", 'nextnonce="a, b=s3cr3t", qop=auth'), "nextnonce=[REDACTED], qop=[REDACTED]");
    assert.equal(redactHeaderValue("Proxy-Authentication-Info", "rspauth=abc"), "rspauth=[REDACTED]");
    assert.equal(redactHeaderValue("Cookie", "a=1"), "a=[REDACTED]");
    assert.equal(redactHeaderValue("X-Other", "kept"), "kept");
  });

  it("redactQuery hides secret-looking parameters only", () => {
    assert.equal(redactQuery(""), "");
    assert.equal(redactQuery("?page=2"), "?page=2");
    assert.equal(redactQuery("?api_key=k&password=p&flag"), "?api_key=[REDACTED]&password=[REDACTED]&flag");
  });
});

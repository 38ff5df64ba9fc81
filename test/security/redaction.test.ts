/**
 * Issue 12 (9): secrets outside the redaction. Custom credential headers are hidden by the
 * Logger (a configurable list with defaults), `String(msg)` / `util.inspect(msg)` hide what
 * the Logger hides in URLs (one function, http/redact.ts), and `JSON.stringify` of a jar
 * cookie leaves its value out.
 */
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import { CookieJar } from "../../src/features/cookies/cookie-jar.js";
import { JarCookie } from "../../src/features/cookies/jar-cookie.js";
import { DEFAULT_SECRET_HEADERS, Logger, LoggerLogLevel, redactBody, redactHeaderValue } from "../../src/features/logger.js";
import { Message, redactUrl } from "../../src/http/message.js";
import { redactQuery, redactTarget } from "../../src/http/redact.js";
import { newSession, startServer } from "../http/helpers.js";

function capture(options: ConstructorParameters<typeof Logger>[0] = {}) {
  const lines: string[] = [];
  const logger = new Logger({ level: LoggerLogLevel.HEADERS, ...options, printer: (_l, dir, line) => lines.push(`${dir} ${line}`) });
  return { logger, lines };
}

describe("Logger: custom credential headers", () => {
  it("X-Api-Key, X-Auth-Token and Api-Key (request and response) print as [REDACTED] by default", async () => {
    const srv = await startServer((_req, res) => {
      res.setHeader("X-Auth-Token", "r3sp-t0ken");
      res.setHeader("X-Plain", "visible");
      res.end("ok");
    });
    const { logger, lines } = capture();
    const msg = new Message("GET", `${srv.url}/`);
    msg.requestHeaders.set("X-Api-Key", "k3y-1");
    msg.requestHeaders.set("api-key", "k3y-2");
    msg.requestHeaders.set("X-AUTH-TOKEN", "k3y-3");
    await newSession({ features: [logger] }).sendAndRead(msg);
    const out = lines.join("\n");
    for (const secret of ["k3y-1", "k3y-2", "k3y-3", "r3sp-t0ken"]) assert.ok(!out.includes(secret), `${secret} leaked:\n${out}`);
    assert.match(out, /^> x-api-key: \[REDACTED\]$/im);
    assert.match(out, /^< x-auth-token: \[REDACTED\]$/im);
    assert.match(out, /^< x-plain: visible$/im, "other headers are still printed");
    assert.equal(srv.requests[0].headers["x-api-key"], "k3y-1", "redaction is for the log only");
  });

  it("secretHeaders replaces the list (case-insensitive); the defaults are exported to extend", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const { logger, lines } = capture({ secretHeaders: [...DEFAULT_SECRET_HEADERS, "x-tenant-secret"] });
    const msg = new Message("GET", `${srv.url}/`);
    msg.requestHeaders.set("X-Tenant-Secret", "t3nant");
    msg.requestHeaders.set("X-Api-Key", "k3y");
    await newSession({ features: [logger] }).sendAndRead(msg);
    assert.ok(!lines.join("\n").includes("t3nant") && !lines.join("\n").includes("k3y"));

    const { logger: only, lines: l2 } = capture({ secretHeaders: ["X-Other"] });
    const m2 = new Message("GET", `${srv.url}/`);
    m2.requestHeaders.set("X-Api-Key", "sh0wn");
    m2.requestHeaders.set("Authorization", "Bearer n3ver");
    await newSession({ features: [only] }).sendAndRead(m2);
    assert.ok(l2.join("\n").includes("sh0wn"), "a replaced list no longer hides X-Api-Key");
    assert.ok(!l2.join("\n").includes("n3ver"), "Authorization is always redacted, whatever the list");
  });

  it("refuses a secretHeaders that is not a list of names", () => {
    assert.throws(() => new Logger({ secretHeaders: "X-Api-Key" as unknown as string[] }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => new Logger({ secretHeaders: [1] as unknown as string[] }), { code: "INVALID_ARGUMENT" });
  });

  it("redactBody never throws: a form field named *json* whose value cannot be encoded (found by the fuzz suite)", () => {
    assert.equal(redactBody("request-json=%7B%22a%22%3A1%7D&x=\ud800", "application/x-www-form-urlencoded").includes("request-json="), true);
    assert.equal(redactBody("request-json=\ud800", "application/x-www-form-urlencoded"), "request-json=[REDACTED]");
  });

  it("redactHeaderValue: a run of separators does not print as a run of pairs", () => {
    assert.equal(redactHeaderValue("Cookie", ";;;;a=s3cr3t;;;;"), "a=[REDACTED]");
    assert.equal(redactHeaderValue("Set-Cookie", "a=s3cr3t;;;; Path=/;;;"), "a=[REDACTED]; Path=/");
    assert.equal(redactHeaderValue("X-Api-Key", "k"), "[REDACTED]");
  });
});

describe("one URL redaction for the Logger, String(msg) and util.inspect(msg)", () => {
  const url = "http://alice:us3rinf0@127.0.0.1:1/p/a?access_token=qu3ry-t0k3n&page=2&API%5FKEY=k3y#access_token=fr4g";

  it("String(msg) and util.inspect(msg) hide userinfo and secret query and fragment values", () => {
    const msg = new Message("GET", url);
    for (const shown of [String(msg), inspect(msg), `${msg}`, inspect({ nested: msg })]) {
      for (const secret of ["us3rinf0", "alice", "qu3ry-t0k3n", "k3y", "fr4g"]) assert.ok(!shown.includes(secret), `${secret} in ${shown}`);
      assert.ok(shown.includes("page=2"), "harmless parameters stay");
    }
    assert.equal(redactUrl(msg.url), "http://REDACTED@127.0.0.1:1/p/a?access_token=[REDACTED]&page=2&API%5FKEY=[REDACTED]#access_token=[REDACTED]");
  });

  it("the Logger's request line is exactly the redacted target String(msg) shows", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    const { logger, lines } = capture({ level: LoggerLogLevel.MINIMAL });
    const msg = new Message("GET", `${srv.url}/login?access_token=qu3ry-t0k3n&page=2`);
    await newSession({ features: [logger] }).sendAndRead(msg);
    const target = redactTarget(msg.url);
    assert.equal(lines[0], `> GET ${target} HTTP/1.1`);
    assert.ok(String(msg).includes(target));
    assert.ok(!lines.join("\n").includes("qu3ry-t0k3n"));
  });

  it("redactQuery is linear and skips empty and nameless parameters", () => {
    assert.equal(redactQuery("?&&=x&token=y&&"), "?&&=x&token=[REDACTED]&&");
    assert.equal(redactQuery("?a&b&c=1&password"), "?a&b&c=1&password");
    assert.equal(redactQuery("?pass+word=x"), "?pass+word=[REDACTED]");
  });
});

describe("JarCookie in JSON", () => {
  it("JSON.stringify(cookie) leaves the value out; .value and the header methods still have it", async () => {
    const jar = new CookieJar();
    await jar.setCookie("https://example.com/", "sid=c00kie-s3cr3t; Path=/; Secure; HttpOnly; SameSite=Lax");
    const [cookie] = await jar.allCookies();
    const json = JSON.stringify(cookie);
    assert.ok(!json.includes("c00kie-s3cr3t"), json);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    assert.equal(parsed.name, "sid");
    assert.equal(parsed.value, "<redacted>");
    assert.equal(parsed.domain, "example.com");
    assert.equal(parsed.secure, true);
    assert.equal(JSON.stringify({ cookies: await jar.allCookies() }).includes("c00kie-s3cr3t"), false, "nested too");
    assert.equal(cookie.value, "c00kie-s3cr3t");
    assert.equal(cookie.toCookieHeader(), "sid=c00kie-s3cr3t");
    assert.ok(!String(cookie).includes("c00kie-s3cr3t") && !inspect(cookie).includes("c00kie-s3cr3t"));
    const direct = new JarCookie({ name: "a", value: "v4lue", domain: "x.test" });
    assert.ok(!JSON.stringify(direct).includes("v4lue"));
  });
});

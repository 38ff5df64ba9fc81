/**
 * Header defaults the session adds (User-Agent, Accept-Language), Content-Length: 0 for
 * body-less POST/PUT, and where sockets go: localAddress and remoteConnectable.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DEFAULT_USER_AGENT, acceptLanguageFromLocale } from "../../src/http/defaults.js";
import { Message } from "../../src/http/message.js";
import { VERSION } from "../../src/version.js";
import { defer, newSession, startServer, text, type TestServer } from "./helpers.js";

async function echo(): Promise<TestServer> {
  return startServer((_req, res) => res.end("ok"));
}

async function sentHeaders(srv: TestServer, s: ReturnType<typeof newSession>, msg = new Message("GET", `${srv.url}/`)) {
  await s.sendAndRead(msg);
  return srv.requests.at(-1)!;
}

describe("User-Agent", () => {
  it('"" (the default) sends sessionkit/VERSION', async () => {
    const srv = await echo();
    const s = newSession();
    assert.equal(DEFAULT_USER_AGENT, `sessionkit/${VERSION}`);
    assert.equal(s.userAgent, `sessionkit/${VERSION}`);
    assert.equal((await sentHeaders(srv, s)).headers["user-agent"], `sessionkit/${VERSION}`);
    const s2 = newSession({ userAgent: "" });
    assert.equal((await sentHeaders(srv, s2)).headers["user-agent"], `sessionkit/${VERSION}`);
  });

  it("null sends no User-Agent at all", async () => {
    const srv = await echo();
    const s = newSession({ userAgent: null });
    assert.equal(s.userAgent, null);
    const seen = await sentHeaders(srv, s);
    assert.equal(seen.headers["user-agent"], undefined);
    assert.ok(!seen.rawHeaders.some((h) => h.toLowerCase() === "user-agent"));
  });

  it("a value ending in a space gets sessionkit/VERSION appended", async () => {
    const srv = await echo();
    const s = newSession({ userAgent: "MyApp/2.0 " });
    assert.equal((await sentHeaders(srv, s)).headers["user-agent"], `MyApp/2.0 sessionkit/${VERSION}`);
  });

  it("any other value is sent as is, and can be changed on the session", async () => {
    const srv = await echo();
    const s = newSession({ userAgent: "MyApp/2.0" });
    assert.equal((await sentHeaders(srv, s)).headers["user-agent"], "MyApp/2.0");
    s.userAgent = "Other/1";
    assert.equal((await sentHeaders(srv, s)).headers["user-agent"], "Other/1");
    s.userAgent = null;
    assert.equal((await sentHeaders(srv, s)).headers["user-agent"], undefined);
  });

  it("replaces a User-Agent already on the message (one header, the session's value)", async () => {
    const srv = await echo();
    const s = newSession({ userAgent: "Session/1" });
    const msg = new Message("GET", `${srv.url}/`);
    msg.requestHeaders.append("User-Agent", "FromMessage/9");
    const seen = await sentHeaders(srv, s, msg);
    assert.equal(seen.headers["user-agent"], "Session/1");
    assert.equal(seen.rawHeaders.filter((h) => h.toLowerCase() === "user-agent").length, 1);
  });

  it("refuses CR/LF in the User-Agent", () => {
    assert.throws(() => newSession({ userAgent: "a\r\nX-Evil: 1" }), { code: "INVALID_ARGUMENT" });
  });
});

describe("Accept-Language", () => {
  it("is not sent by default", async () => {
    const srv = await echo();
    const s = newSession();
    assert.equal(s.acceptLanguage, null);
    assert.equal(s.acceptLanguageAuto, false);
    assert.equal((await sentHeaders(srv, s)).headers["accept-language"], undefined);
  });

  it("acceptLanguage is sent; a message that has the header keeps its own", async () => {
    const srv = await echo();
    const s = newSession({ acceptLanguage: "de-CH, de;q=0.9" });
    assert.equal((await sentHeaders(srv, s)).headers["accept-language"], "de-CH, de;q=0.9");
    const msg = new Message("GET", `${srv.url}/`);
    msg.requestHeaders.set("Accept-Language", "fr");
    assert.equal((await sentHeaders(srv, s, msg)).headers["accept-language"], "fr");
  });

  it("acceptLanguageAuto derives the header from the locale; setting acceptLanguage turns auto off", async () => {
    const srv = await echo();
    const s = newSession({ acceptLanguageAuto: true });
    assert.equal(s.acceptLanguageAuto, true);
    assert.equal(s.acceptLanguage, acceptLanguageFromLocale());
    assert.equal((await sentHeaders(srv, s)).headers["accept-language"], acceptLanguageFromLocale());
    s.acceptLanguage = "nl";
    assert.equal(s.acceptLanguageAuto, false);
    assert.equal((await sentHeaders(srv, s)).headers["accept-language"], "nl");
    s.acceptLanguageAuto = false;
    assert.equal(s.acceptLanguage, null);
    assert.equal((await sentHeaders(srv, s)).headers["accept-language"], undefined);
  });

  it("both options at once: the explicit acceptLanguage wins and auto is off", () => {
    const s = newSession({ acceptLanguageAuto: true, acceptLanguage: "it" });
    assert.equal(s.acceptLanguage, "it");
    assert.equal(s.acceptLanguageAuto, false);
  });

  it("acceptLanguageFromLocale follows libsoup's rules", () => {
    assert.equal(acceptLanguageFromLocale({ LANG: "en_US.UTF-8" }), "en-us, en;q=0.9");
    assert.equal(acceptLanguageFromLocale({ LANG: "C" }), "en");
    assert.equal(acceptLanguageFromLocale({ LANGUAGE: "fr_FR:de", LANG: "C.UTF-8" }), "fr-fr, fr;q=0.9, de;q=0.8");
  });
});

describe("request bodies", () => {
  for (const method of ["POST", "PUT"]) {
    it(`${method} without a body sends Content-Length: 0`, async () => {
      const srv = await echo();
      const s = newSession();
      const seen = await sentHeaders(srv, s, new Message(method, `${srv.url}/`));
      assert.equal(seen.method, method);
      assert.equal(seen.headers["content-length"], "0");
      assert.equal(seen.headers["transfer-encoding"], undefined);
    });
  }

  it("GET without a body sends neither Content-Length nor Transfer-Encoding", async () => {
    const srv = await echo();
    const seen = await sentHeaders(srv, newSession());
    assert.equal(seen.headers["content-length"], undefined);
    assert.equal(seen.headers["transfer-encoding"], undefined);
  });

  it("string, bytes and stream bodies arrive intact", async () => {
    const srv = await echo();
    const s = newSession();
    const m1 = new Message("POST", `${srv.url}/`);
    m1.setRequestBody("text/plain", "héllo");
    assert.equal((await sentHeaders(srv, s, m1)).body.toString(), "héllo");
    assert.equal(srv.requests.at(-1)!.headers["content-type"], "text/plain");
    const m2 = new Message("PUT", `${srv.url}/`);
    m2.setRequestBody("application/octet-stream", new Uint8Array([1, 2, 3]));
    assert.deepEqual([...(await sentHeaders(srv, s, m2)).body], [1, 2, 3]);
    const m3 = new Message("POST", `${srv.url}/`);
    m3.setRequestBody(
      "text/plain",
      (async function* () {
        yield new TextEncoder().encode("a");
        yield new TextEncoder().encode("b");
      })(),
    );
    assert.equal((await sentHeaders(srv, s, m3)).body.toString(), "ab");
  });
});

describe("where sockets go", () => {
  it("localAddress binds the outgoing socket", async () => {
    const srv = await echo();
    const s = newSession({ localAddress: "127.0.0.2" });
    const seen = await sentHeaders(srv, s);
    assert.equal(seen.remoteAddress, "127.0.0.2");
    const s2 = newSession({ localAddress: "127.0.0.3" });
    assert.equal((await sentHeaders(srv, s2)).remoteAddress, "127.0.0.3");
  });

  it("remoteConnectable host:port sends there and keeps the URL's Host", async () => {
    const srv = await echo();
    const s = newSession({ remoteConnectable: `127.0.0.1:${srv.port}` });
    const msg = new Message("GET", "http://api.example.test:8080/path?q=1");
    assert.equal(text(await s.sendAndRead(msg)), "ok");
    const seen = srv.requests.at(-1)!;
    assert.equal(seen.headers.host, "api.example.test:8080");
    assert.equal(seen.url, "/path?q=1");
  });

  it("remoteConnectable as a Unix socket path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sk-unix-"));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "http.sock");
    const hosts: Array<string | undefined> = [];
    const server = http.createServer((req, res) => {
      hosts.push(req.headers.host);
      res.end(`unix ${req.url}`);
    });
    await new Promise<void>((r) => server.listen(path, r));
    defer(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const s = newSession({ remoteConnectable: path });
    assert.equal(text(await s.sendAndRead(new Message("GET", "http://unix.example/x"))), "unix /x");
    assert.deepEqual(hosts, ["unix.example"]);
  });

  it("a bad remoteConnectable fails with a typed error, not a crash", async () => {
    const s = newSession({ remoteConnectable: "no-port-here" });
    await assert.rejects(s.sendAndRead(new Message("GET", "http://x.example/")), (e: Error & { code?: string }) => typeof e.code === "string");
  });

  it("a refused connection fails with CONNECTION_FAILED", async () => {
    const srv = await echo();
    const port = srv.port;
    await srv.close();
    const s = newSession();
    await assert.rejects(s.sendAndRead(new Message("GET", `http://127.0.0.1:${port}/`)), { code: "CONNECTION_FAILED", name: "NetworkError" });
  });
});

/**
 * libsoup's redirect rules through a real Session: which statuses are followed for which
 * methods, what happens to the method and body, the restart limit, bad Location headers,
 * credentials across origins and the NO_REDIRECT flag.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RedirectError } from "../../src/errors.js";
import { Message, MessageFlags } from "../../src/http/message.js";
import { newSession, rejectsWithCode, startServer, text, type TestServer } from "./helpers.js";

/** /r/STATUS?to=PATH redirects with STATUS; everything else answers "METHOD URL BODY". */
async function redirector(): Promise<TestServer> {
  return startServer((req, res, body) => {
    const u = new URL(req.url ?? "/", "http://x");
    const m = /^\/r\/(\d{3})$/.exec(u.pathname);
    if (m) {
      res.writeHead(Number(m[1]), { Location: u.searchParams.get("to") ?? "/final" });
      res.end("redirect body");
      return;
    }
    res.end(`${req.method} ${req.url} ${body.toString()}`);
  });
}

function msgWithBody(method: string, url: string, body = "payload"): Message {
  const m = new Message(method, url);
  m.setRequestBody("text/plain", body);
  return m;
}

describe("redirects", () => {
  it("303 turns POST into GET and drops the body and its headers", async () => {
    const srv = await redirector();
    const s = newSession();
    const msg = msgWithBody("POST", `${srv.url}/r/303`);
    assert.equal(text(await s.sendAndRead(msg)), "GET /final ");
    assert.equal(msg.method, "GET");
    assert.equal(msg.status, 200);
    assert.equal(msg.url.pathname, "/final");
    assert.equal(msg.restartCount, 1);
    const second = srv.requests[1];
    assert.equal(second.headers["content-type"], undefined);
    assert.equal(second.headers["content-length"], undefined);
    assert.equal(second.body.length, 0);
  });

  it("303 turns PUT and DELETE into GET too, but HEAD stays HEAD", async () => {
    const srv = await redirector();
    const s = newSession();
    for (const method of ["PUT", "DELETE"]) {
      const msg = msgWithBody(method, `${srv.url}/r/303`);
      await s.sendAndRead(msg);
      assert.equal(msg.method, "GET");
      assert.equal(srv.requests.at(-1)!.method, "GET");
    }
    const head = new Message("HEAD", `${srv.url}/r/303`);
    await s.sendAndRead(head);
    assert.equal(head.method, "HEAD");
    assert.equal(head.status, 200);
    assert.equal(srv.requests.at(-1)!.method, "HEAD");
    assert.equal(srv.requests.at(-1)!.url, "/final");
  });

  for (const status of [301, 302]) {
    it(`${status} turns POST into GET`, async () => {
      const srv = await redirector();
      const s = newSession();
      const msg = msgWithBody("POST", `${srv.url}/r/${status}`);
      assert.equal(text(await s.sendAndRead(msg)), "GET /final ");
      assert.equal(msg.status, 200);
    });

    it(`${status} for GET is followed with GET`, async () => {
      const srv = await redirector();
      const s = newSession();
      const msg = new Message("GET", `${srv.url}/r/${status}?to=/elsewhere`);
      assert.equal(text(await s.sendAndRead(msg)), "GET /elsewhere ");
    });

    it(`${status} for PUT (unsafe, not POST) is not followed`, async () => {
      const srv = await redirector();
      const s = newSession();
      const msg = msgWithBody("PUT", `${srv.url}/r/${status}`);
      assert.equal(text(await s.sendAndRead(msg)), "redirect body");
      assert.equal(msg.status, status);
      assert.equal(msg.method, "PUT");
      assert.equal(srv.requests.length, 1);
    });
  }

  for (const status of [307, 308]) {
    it(`${status} keeps a safe method and its body`, async () => {
      const srv = await redirector();
      const s = newSession();
      const get = new Message("GET", `${srv.url}/r/${status}`);
      assert.equal(text(await s.sendAndRead(get)), "GET /final ");
      const propfind = msgWithBody("PROPFIND", `${srv.url}/r/${status}`, "<propfind/>");
      assert.equal(text(await s.sendAndRead(propfind)), "PROPFIND /final <propfind/>");
      assert.equal(srv.requests.at(-1)!.headers["content-type"], "text/plain");
      const options = new Message("OPTIONS", `${srv.url}/r/${status}`);
      await s.sendAndRead(options);
      assert.equal(options.status, 200);
      assert.equal(srv.requests.at(-1)!.method, "OPTIONS");
    });

    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      it(`${status} for ${method} is returned to the caller, not followed`, async () => {
        const srv = await redirector();
        const s = newSession();
        const msg = msgWithBody(method, `${srv.url}/r/${status}`);
        await s.sendAndRead(msg);
        assert.equal(msg.status, status);
        assert.equal(msg.method, method);
        assert.equal(srv.requests.length, 1);
      });
    }
  }

  it("a chain of redirects is followed to the end; msg.url is the final URL", async () => {
    const srv = await redirector();
    const s = newSession();
    const hop3 = `/r/308?to=${encodeURIComponent("/done")}`;
    const hop2 = `/r/301?to=${encodeURIComponent(hop3)}`;
    const msg = new Message("GET", `${srv.url}/r/302?to=${encodeURIComponent(hop2)}`);
    assert.equal(text(await s.sendAndRead(msg)), "GET /done ");
    assert.equal(msg.restartCount, 3);
    assert.equal(msg.url.href, `${srv.url}/done`);
  });

  it("more than 20 redirects fail with TOO_MANY_REDIRECTS", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(302, { Location: "/loop" });
      res.end();
    });
    const s = newSession();
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/loop`)), "TOO_MANY_REDIRECTS");
    assert.ok(err instanceof RedirectError);
    assert.equal(srv.requests.length, 21, "the original request plus 20 redirects");
  });

  it("exactly 20 redirects still succeed", async () => {
    const srv = await startServer((req, res) => {
      const n = Number(new URL(req.url ?? "/", "http://x").searchParams.get("n"));
      if (n < 20) {
        res.writeHead(302, { Location: `/?n=${n + 1}` });
        res.end();
      } else res.end("landed");
    });
    const s = newSession();
    assert.equal(text(await s.sendAndRead(new Message("GET", `${srv.url}/?n=0`))), "landed");
  });

  it("a redirect without Location fails with REDIRECT_NO_LOCATION", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(302);
      res.end();
    });
    const s = newSession();
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "REDIRECT_NO_LOCATION");
    assert.ok(err instanceof RedirectError);
  });

  for (const [name, location] of [
    ["an unparsable Location", "http://[not-an-ip/"],
    ["a non-http scheme", "ftp://example.com/file"],
    ["a javascript: URL", "javascript:alert(1)"],
  ] as const) {
    it(`${name} fails with REDIRECT_BAD_URI`, async () => {
      const srv = await startServer((_req, res) => {
        res.writeHead(301, { Location: location });
        res.end();
      });
      const s = newSession();
      await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/`)), "REDIRECT_BAD_URI");
    });
  }

  it("NO_REDIRECT hands the 3xx to the caller", async () => {
    const srv = await redirector();
    const s = newSession();
    const msg = new Message("GET", `${srv.url}/r/302?to=/x`);
    msg.addFlags(MessageFlags.NO_REDIRECT);
    assert.equal(text(await s.sendAndRead(msg)), "redirect body");
    assert.equal(msg.status, 302);
    assert.equal(msg.responseHeaders.get("Location"), "/x");
    assert.equal(srv.requests.length, 1);
  });

  it("a cross-origin redirect strips Authorization, Proxy-Authorization and Cookie", async () => {
    const target = await startServer((_req, res) => res.end("target"));
    const origin = await startServer((_req, res) => {
      res.writeHead(302, { Location: `${target.url}/landing` });
      res.end();
    });
    const s = newSession();
    const msg = new Message("GET", `${origin.url}/start`);
    msg.requestHeaders.set("Authorization", "Bearer s3cr3t");
    msg.requestHeaders.set("Proxy-Authorization", "Basic cHJveHk6cHc=");
    msg.requestHeaders.set("Cookie", "sid=abc");
    msg.requestHeaders.set("X-Keep", "yes");
    assert.equal(text(await s.sendAndRead(msg)), "target");
    assert.equal(origin.requests[0].headers.authorization, "Bearer s3cr3t");
    assert.equal(origin.requests[0].headers.cookie, "sid=abc");
    const h = target.requests[0].headers;
    assert.equal(h.authorization, undefined);
    assert.equal(h["proxy-authorization"], undefined);
    assert.equal(h.cookie, undefined);
    assert.equal(h["x-keep"], "yes");
  });

  it("a same-origin redirect keeps the credentials", async () => {
    const srv = await redirector();
    const s = newSession();
    const msg = new Message("GET", `${srv.url}/r/302?to=/next`);
    msg.requestHeaders.set("Authorization", "Bearer s3cr3t");
    msg.requestHeaders.set("Cookie", "sid=abc");
    await s.sendAndRead(msg);
    assert.equal(srv.requests[1].headers.authorization, "Bearer s3cr3t");
    assert.equal(srv.requests[1].headers.cookie, "sid=abc");
  });

  it("a redirect to another port of the same host is cross-origin too", async () => {
    const target = await startServer((_req, res) => res.end("t"));
    const origin = await startServer((_req, res) => {
      res.writeHead(307, { Location: `http://localhost:${target.port}/` });
      res.end();
    });
    const s = newSession();
    const msg = new Message("GET", `${origin.url}/`);
    msg.requestHeaders.set("Authorization", "Basic dTpw");
    await s.sendAndRead(msg);
    assert.equal(target.requests[0].headers.authorization, undefined);
    assert.equal(target.requests[0].headers.host, `localhost:${target.port}`);
  });

  it("a 307 with a stream body that was already sent is returned, not replayed", async () => {
    const srv = await redirector();
    const s = newSession();
    const msg = new Message("PROPFIND", `${srv.url}/r/307`);
    msg.setRequestBody(
      "text/plain",
      (async function* () {
        yield new TextEncoder().encode("once");
      })(),
    );
    await s.sendAndRead(msg);
    assert.equal(msg.status, 307);
    assert.equal(srv.requests.length, 1);
  });
});

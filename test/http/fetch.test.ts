/**
 * session.fetch: a WHATWG-compatible fetch whose requests go through the session (pool,
 * features, redirects). Checked against what the platform's Response offers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { newSession, rejectsWithCode, startServer, until } from "./helpers.js";

async function app() {
  return startServer((req, res, body) => {
    const u = new URL(req.url ?? "/", "http://x");
    switch (u.pathname) {
      case "/json":
        res.writeHead(200, { "Content-Type": "application/json", "X-Multi": ["a", "b"] });
        res.end(JSON.stringify({ hello: "world" }));
        return;
      case "/echo":
        res.writeHead(201, "Made It", { "Content-Type": req.headers["content-type"] ?? "none" });
        res.end(`${req.method} ${body.toString()} ${req.headers["x-custom"] ?? ""}`);
        return;
      case "/redirect":
        res.writeHead(302, { Location: "/json" });
        res.end();
        return;
      case "/gzip":
        res.writeHead(200, { "Content-Encoding": "gzip" });
        res.end(gzipSync("unzipped"));
        return;
      case "/empty":
        res.writeHead(204);
        res.end();
        return;
      case "/slow":
        res.writeHead(200, { "Content-Length": "100" });
        res.write("part");
        return;
      default:
        res.writeHead(404, { "Content-Type": "text/plain" });
        res.end("nope");
    }
  });
}

describe("session.fetch", () => {
  it("returns a real Response with status, headers, url and a readable body", async () => {
    const srv = await app();
    const s = newSession();
    const res = await s.fetch(`${srv.url}/json`);
    assert.ok(res instanceof Response);
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("x-multi"), "a, b");
    assert.equal(res.url, `${srv.url}/json`);
    assert.equal(res.redirected, false);
    assert.deepEqual(await res.json(), { hello: "world" });
    assert.equal(res.bodyUsed, true);
  });

  it("the body is a ReadableStream that streams", async () => {
    const srv = await app();
    const res = await newSession().fetch(`${srv.url}/json`);
    assert.ok(res.body instanceof ReadableStream);
    const reader = res.body!.getReader();
    let out = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += Buffer.from(r.value).toString();
    assert.equal(out, '{"hello":"world"}');
  });

  it("follows redirects by default (redirected, final url)", async () => {
    const srv = await app();
    const res = await newSession().fetch(`${srv.url}/redirect`);
    assert.equal(res.status, 200);
    assert.equal(res.redirected, true);
    assert.equal(res.url, `${srv.url}/json`);
    await res.arrayBuffer();
  });

  it('redirect: "manual" gives the 3xx; redirect: "error" rejects', async () => {
    const srv = await app();
    const s = newSession();
    const manual = await s.fetch(`${srv.url}/redirect`, { redirect: "manual" });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.get("location"), "/json");
    await manual.arrayBuffer();
    await rejectsWithCode(s.fetch(`${srv.url}/redirect`, { redirect: "error" }), "REDIRECT_NOT_ALLOWED");
  });

  it("sends method, headers and string / URLSearchParams / bytes / JSON bodies with fetch's content types", async () => {
    const srv = await app();
    const s = newSession();
    let r = await s.fetch(`${srv.url}/echo`, { method: "POST", body: "hi", headers: { "X-Custom": "c" } });
    assert.equal(r.status, 201);
    assert.equal(r.statusText, "Made It");
    assert.equal(r.headers.get("content-type"), "text/plain;charset=UTF-8");
    assert.equal(await r.text(), "POST hi c");
    r = await s.fetch(`${srv.url}/echo`, { method: "put", body: new URLSearchParams({ a: "1", b: "x y" }) });
    assert.equal(r.headers.get("content-type"), "application/x-www-form-urlencoded;charset=UTF-8");
    assert.equal(await r.text(), "PUT a=1&b=x+y ");
    r = await s.fetch(`${srv.url}/echo`, { method: "POST", body: new Uint8Array([104, 105]) });
    assert.equal(r.headers.get("content-type"), "none");
    assert.equal(await r.text(), "POST hi ");
    r = await s.fetch(`${srv.url}/echo`, {
      method: "POST",
      body: JSON.stringify({ a: 1 }),
      headers: new Headers({ "Content-Type": "application/json" }),
    });
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(await r.text(), 'POST {"a":1} ');
  });

  it("accepts a Request object and a ReadableStream body", async () => {
    const srv = await app();
    const s = newSession();
    const req = new Request(`${srv.url}/echo`, { method: "POST", body: "from request", headers: { "X-Custom": "r" } });
    const r = await s.fetch(req);
    assert.equal(await r.text(), "POST from request r");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("str"));
        c.enqueue(new TextEncoder().encode("eam"));
        c.close();
      },
    });
    const r2 = await s.fetch(`${srv.url}/echo`, { method: "POST", body: stream, duplex: "half" } as RequestInit);
    assert.equal(await r2.text(), "POST stream ");
  });

  it("a URL object works as input", async () => {
    const srv = await app();
    const r = await newSession().fetch(new URL(`${srv.url}/json`));
    assert.equal(r.status, 200);
    await r.text();
  });

  it("GET/HEAD with a body is refused like fetch does", async () => {
    const srv = await app();
    await assert.rejects(newSession().fetch(`${srv.url}/json`, { method: "GET", body: "x" }));
  });

  it("HEAD and 204 have a null body", async () => {
    const srv = await app();
    const s = newSession();
    const head = await s.fetch(`${srv.url}/json`, { method: "HEAD" });
    assert.equal(head.body, null);
    assert.equal(head.headers.get("content-type"), "application/json");
    // undici closes the connection after every HEAD (client-h1.js: "Close after a HEAD
    // request to interop with misbehaving servers"), so only the 204 is checked for reuse.
    const before = srv.accepted;
    const empty = await s.fetch(`${srv.url}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
    await until(() => s.idleConnectionCount === 1, 5000, "the 204's connection back in the pool");
    const again = await s.fetch(`${srv.url}/json`);
    await again.text();
    assert.equal(srv.accepted, before + 1, "the 204's connection was reused");
  });

  it("non-2xx statuses resolve (ok false), like fetch", async () => {
    const srv = await app();
    const r = await newSession().fetch(`${srv.url}/missing`);
    assert.equal(r.status, 404);
    assert.equal(r.ok, false);
    assert.equal(await r.text(), "nope");
  });

  it("goes through the session's features (content decoding)", async () => {
    const srv = await app();
    const r = await newSession().fetch(`${srv.url}/gzip`);
    assert.equal(await r.text(), "unzipped");
  });

  it("an aborted signal rejects with name AbortError (code ABORTED), before and during the body", async () => {
    const srv = await app();
    const s = newSession();
    const early = await rejectsWithCode(s.fetch(`${srv.url}/json`, { signal: AbortSignal.abort() }), "ABORTED");
    assert.equal(early.name, "AbortError");
    const ac = new AbortController();
    const res = await s.fetch(`${srv.url}/slow`, { signal: ac.signal });
    const reader = res.body!.getReader();
    assert.equal(Buffer.from((await reader.read()).value!).toString(), "part");
    ac.abort();
    await assert.rejects(reader.read(), (e: Error & { code?: string }) => e.name === "AbortError" || e.code === "ABORTED");
    await until(() => srv.closedCount === 1);
  });

  it("transport failures reject with typed errors", async () => {
    const srv = await app();
    const port = srv.port;
    await srv.close();
    await rejectsWithCode(newSession().fetch(`http://127.0.0.1:${port}/`), "CONNECTION_FAILED");
  });
});

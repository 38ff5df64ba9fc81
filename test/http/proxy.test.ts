/**
 * Proxies: a plain-http forward proxy (absolute-form requests) for http URLs, a CONNECT
 * tunnel for https URLs, the environment resolver (HTTP_PROXY / HTTPS_PROXY / NO_PROXY)
 * and proxy failures.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { Message } from "../../src/http/message.js";
import { envProxyResolver, matchesNoProxy, proxyResolverFromEnv } from "../../src/http/proxy.js";
import { Session } from "../../src/http/session.js";
import { defer, newSession, rejectsWithCode, startHttpsServer, startProxy, startRawServer, startServer, text, tlsFixture } from "./helpers.js";

const PROXY_VARS = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"];
let saved: Record<string, string | undefined> = {};
beforeEach(() => {
  saved = {};
  for (const k of PROXY_VARS) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
});
afterEach(() => {
  for (const k of PROXY_VARS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe("proxyResolver", () => {
  it("http URLs go to an HTTP proxy as absolute-form requests (Host kept)", async () => {
    const origin = await startServer((req, res, body) => res.end(`origin ${req.method} ${req.url} ${body.toString()}`));
    const proxy = await startProxy();
    const seenUrls: string[] = [];
    const s = newSession({
      proxyResolver: (url) => {
        seenUrls.push(url.href);
        return proxy.url;
      },
    });
    const msg = new Message("POST", `${origin.url}/path?q=1`);
    msg.setRequestBody("text/plain", "hi");
    assert.equal(text(await s.sendAndRead(msg)), "origin POST /path?q=1 hi");
    assert.deepEqual(proxy.forwarded, [`${origin.url}/path?q=1`]);
    assert.deepEqual(seenUrls, [`${origin.url}/path?q=1`]);
    assert.equal(origin.requests[0].headers.host, `127.0.0.1:${origin.port}`);
    assert.equal(origin.requests[0].headers.via, "1.1 test-proxy");
    // A second request to another origin reuses the same proxy connection.
    const other = await startServer((_req, res) => res.end("other"));
    assert.equal(text(await s.sendAndRead(new Message("GET", `${other.url}/`))), "other");
    assert.equal(proxy.accepted, 1);
  });

  it("https URLs go through a CONNECT tunnel and TLS is verified end to end", async () => {
    const origin = await startHttpsServer((req, res) => res.end(`secure ${req.url}`));
    const proxy = await startProxy();
    const s = newSession({ proxyResolver: () => proxy.url, tlsDatabase: tlsFixture().caCert });
    const msg = new Message("GET", `${origin.url}/tunnelled`);
    msg.requestHeaders.set("Proxy-Authorization", "Basic dXNlcjpwdw==");
    assert.equal(text(await s.sendAndRead(msg)), "secure /tunnelled");
    assert.deepEqual(proxy.connects, [`127.0.0.1:${origin.port}`]);
    assert.deepEqual(proxy.forwarded, []);
    assert.deepEqual(proxy.proxyAuth, ["Basic dXNlcjpwdw=="], "Proxy-Authorization goes to the proxy with CONNECT");
    assert.equal(origin.requests[0].headers["proxy-authorization"], undefined, "…and never through the tunnel");
    // The tunnel is kept alive and reused.
    assert.equal(text(await s.sendAndRead(new Message("GET", `${origin.url}/again`))), "secure /again");
    assert.equal(proxy.connects.length, 1);
  });

  it("a tunnel to a server the CA does not vouch for fails with TLS_FAILED", async () => {
    const origin = await startHttpsServer((_req, res) => res.end("x"));
    const proxy = await startProxy();
    const s = newSession({ proxyResolver: () => proxy.url, tlsDatabase: tlsFixture().otherCaCert });
    await rejectsWithCode(s.sendAndRead(new Message("GET", `${origin.url}/`)), "TLS_FAILED");
  });

  it("an async resolver and a resolver returning null (direct) both work", async () => {
    const origin = await startServer((_req, res) => res.end("direct"));
    const proxy = await startProxy();
    const s = newSession({ proxyResolver: async (url) => (url.pathname === "/via" ? proxy.url : null) });
    assert.equal(text(await s.sendAndRead(new Message("GET", `${origin.url}/direct`))), "direct");
    assert.equal(text(await s.sendAndRead(new Message("GET", `${origin.url}/via`))), "direct");
    assert.deepEqual(proxy.forwarded, [`${origin.url}/via`]);
    assert.equal(origin.requests.length, 2);
  });

  it("a resolver returning garbage fails with PROXY_FAILED", async () => {
    const s = newSession({ proxyResolver: () => "socks5://127.0.0.1:1" });
    await rejectsWithCode(s.sendAndRead(new Message("GET", "http://127.0.0.1:9/")), "PROXY_FAILED");
  });

  it("a proxy that refuses CONNECT: the caller gets the proxy's status as the message's response", async () => {
    const origin = await startHttpsServer((_req, res) => res.end("x"));
    const refusing = await startRawServer((sock) => sock.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
    const s = newSession({ proxyResolver: () => refusing.url, tlsDatabase: tlsFixture().caCert });
    const msg = new Message("GET", `${origin.url}/`);
    const body = await s.sendAndRead(msg);
    assert.equal(msg.status, 403);
    assert.equal(body.length, 0);
    assert.equal(origin.requests.length, 0);
  });

  it("a proxy that closes the connection on CONNECT fails with a typed network error", async () => {
    const origin = await startHttpsServer((_req, res) => res.end("x"));
    const rude = await startRawServer((sock) => sock.destroy());
    const s = newSession({ proxyResolver: () => rude.url, tlsDatabase: tlsFixture().caCert });
    await assert.rejects(
      s.sendAndRead(new Message("GET", `${origin.url}/`)),
      (e: Error & { code?: string }) => e.name === "NetworkError" && ["CONNECTION_FAILED", "CONNECTION_RESET"].includes(e.code ?? ""),
    );
  });

  it("an unreachable proxy fails with CONNECTION_FAILED", async () => {
    const gone = await startServer(() => undefined);
    const port = gone.port;
    await gone.close();
    const s = newSession({ proxyResolver: () => `http://127.0.0.1:${port}` });
    await rejectsWithCode(s.sendAndRead(new Message("GET", "http://127.0.0.1:9/")), "CONNECTION_FAILED");
  });

  it("the default resolver reads HTTP_PROXY for http URLs and honours NO_PROXY", async () => {
    const origin = await startServer((_req, res) => res.end("o"));
    const proxy = await startProxy();
    process.env.HTTP_PROXY = proxy.url;
    const s = new Session();
    defer(() => s.close());
    await s.sendAndRead(new Message("GET", `${origin.url}/a`));
    assert.deepEqual(proxy.forwarded, [`${origin.url}/a`]);
    process.env.NO_PROXY = "localhost,127.0.0.1";
    const s2 = new Session();
    defer(() => s2.close());
    await s2.sendAndRead(new Message("GET", `${origin.url}/b`));
    assert.equal(proxy.forwarded.length, 1, "NO_PROXY sent /b direct");
    assert.equal(origin.requests.length, 2);
  });

  it("with no proxy variables the default session goes direct", async () => {
    const origin = await startServer((_req, res) => res.end("o"));
    const s = new Session();
    defer(() => s.close());
    assert.equal(text(await s.sendAndRead(new Message("GET", `${origin.url}/`))), "o");
    assert.equal(await s.proxyResolver!(new URL(origin.url)), null);
  });

  it("the default resolver reads HTTPS_PROXY for https URLs", async () => {
    const origin = await startHttpsServer((_req, res) => res.end("s"));
    const proxy = await startProxy();
    process.env.HTTPS_PROXY = proxy.url;
    process.env.HTTP_PROXY = "http://127.0.0.1:9"; // must not be used for https
    const s = new Session({ tlsDatabase: tlsFixture().caCert });
    defer(() => s.close());
    assert.equal(text(await s.sendAndRead(new Message("GET", `${origin.url}/`))), "s");
    assert.deepEqual(proxy.connects, [`127.0.0.1:${origin.port}`]);
  });
});

describe("envProxyResolver / matchesNoProxy (unit)", () => {
  it("picks HTTP_PROXY, HTTPS_PROXY, ALL_PROXY by scheme, lower case first", () => {
    process.env.HTTP_PROXY = "http://p-http:1";
    process.env.HTTPS_PROXY = "http://p-https:2";
    assert.equal(envProxyResolver(new URL("http://a.example/")), "http://p-http:1");
    assert.equal(envProxyResolver(new URL("https://a.example/")), "http://p-https:2");
    assert.equal(envProxyResolver(new URL("ws://a.example/")), "http://p-http:1");
    assert.equal(envProxyResolver(new URL("wss://a.example/")), "http://p-https:2");
    process.env.http_proxy = "http://lower:3";
    assert.equal(envProxyResolver(new URL("http://a.example/")), "http://lower:3");
    delete process.env.HTTPS_PROXY;
    assert.equal(envProxyResolver(new URL("https://a.example/")), null);
    process.env.ALL_PROXY = "http://all:4";
    assert.equal(envProxyResolver(new URL("https://a.example/")), "http://all:4");
    process.env.HTTPS_PROXY = "   ";
    assert.equal(envProxyResolver(new URL("https://a.example/")), "http://all:4", "blank values are ignored");
  });

  it("returns null with no variables set", () => {
    assert.equal(envProxyResolver(new URL("http://a.example/")), null);
  });

  it("NO_PROXY: exact hosts, domain suffixes, leading dots and *., ports, * and IPv6", () => {
    const u = (s: string) => new URL(s);
    assert.equal(matchesNoProxy(u("http://a.example/"), undefined), false);
    assert.equal(matchesNoProxy(u("http://a.example/"), "a.example"), true);
    assert.equal(matchesNoProxy(u("http://b.a.example/"), "a.example"), true);
    assert.equal(matchesNoProxy(u("http://xa.example/"), "a.example"), false, "suffix must be a whole label");
    assert.equal(matchesNoProxy(u("http://b.a.example/"), ".a.example"), true);
    assert.equal(matchesNoProxy(u("http://a.example/"), ".a.example"), true);
    assert.equal(matchesNoProxy(u("http://b.a.example/"), "*.a.example"), true);
    assert.equal(matchesNoProxy(u("http://A.Example/"), "a.EXAMPLE"), true);
    assert.equal(matchesNoProxy(u("http://a.example:8080/"), "a.example:8080"), true);
    assert.equal(matchesNoProxy(u("http://a.example:8081/"), "a.example:8080"), false);
    assert.equal(matchesNoProxy(u("http://a.example/"), "a.example:80"), true);
    assert.equal(matchesNoProxy(u("https://a.example/"), "a.example:80"), false);
    assert.equal(matchesNoProxy(u("http://anything/"), "*"), true);
    assert.equal(matchesNoProxy(u("http://a.example/"), "foo, bar a.example"), true);
    assert.equal(matchesNoProxy(u("http://[::1]:80/"), "::1"), true);
    assert.equal(matchesNoProxy(u("http://127.0.0.1/"), "127.0.0.1"), true);
    assert.equal(matchesNoProxy(u("http://127.0.0.10/"), "127.0.0.1"), false);
  });

  it("NO_PROXY: bracketed IPv6 entries, with and without a port", () => {
    const u = (s: string) => new URL(s);
    assert.equal(matchesNoProxy(u("http://[::1]/"), "[::1]"), true);
    assert.equal(matchesNoProxy(u("http://[::1]:8080/"), "[::1]:8080"), true);
    assert.equal(matchesNoProxy(u("http://[::1]:8081/"), "[::1]:8080"), false);
  });

  it("proxyResolverFromEnv reads a given environment once", () => {
    const env: Record<string, string | undefined> = { HTTP_PROXY: "http://p:1", NO_PROXY: ".corp.example" };
    const r = proxyResolverFromEnv(env);
    assert.equal(r(new URL("http://a.example/")), "http://p:1");
    assert.equal(r(new URL("http://x.corp.example/")), null);
    assert.equal(r(new URL("https://a.example/")), null);
    assert.equal(proxyResolverFromEnv({})(new URL("http://a.example/")), null);
  });

  it("NO_PROXY from the environment, lower or upper case", () => {
    process.env.HTTP_PROXY = "http://p:1";
    process.env.no_proxy = "internal.example";
    assert.equal(envProxyResolver(new URL("http://x.internal.example/")), null);
    assert.equal(envProxyResolver(new URL("http://public.example/")), "http://p:1");
  });
});

/** HSTS through a real Session against loopback http and https servers. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Message, Session } from "../../../src/index.js";
import { HSTSEnforcer } from "../../../src/features/hsts/index.js";
import { CookieJar } from "../../../src/features/cookies/index.js";
import { startHttp, startHttps, type TestServer } from "./servers.js";
import { tlsFixture } from "./tls-fixture.js";

async function get(session: Session, url: string): Promise<{ msg: Message; text: string }> {
  const msg = new Message("GET", url);
  const text = new TextDecoder().decode(await session.sendAndRead(msg));
  return { msg, text };
}

async function withServers(fn: (https: TestServer, http: TestServer) => Promise<void>, sts = "max-age=600"): Promise<void> {
  const https = await startHttps((req, res) => {
    if (req.url?.startsWith("/sts")) res.setHeader("Strict-Transport-Security", new URL(req.url, "https://x").searchParams.get("v") ?? sts);
    res.end(`https ${req.headers.host} ${req.url}`);
  });
  const http = await startHttp((req, res) => {
    if (req.url === "/redirect") {
      res.writeHead(302, { Location: `http://localhost:${https.port}/landing` });
      res.end();
      return;
    }
    res.setHeader("Strict-Transport-Security", "max-age=600; includeSubDomains");
    res.end(`http ${req.url}`);
  });
  try {
    await fn(https, http);
  } finally {
    await https.close();
    await http.close();
  }
}

describe("HSTSEnforcer in a Session", () => {
  it("rewrites http://localhost:<port> to https after the host sent STS over https", async () => {
    await withServers(async (https) => {
      const hsts = new HSTSEnforcer();
      await using session = new Session({ tlsDatabase: tlsFixture().caPem, proxyResolver: null, features: [hsts] });
      // Before any policy the http URL really is sent as plain http (and fails on the TLS port).
      await assert.rejects(get(session, `http://localhost:${https.port}/before`));
      assert.equal(https.requests.length, 0);
      await get(session, `https://localhost:${https.port}/sts`);
      assert.ok(hsts.hasValidPolicy("localhost"));
      const enforced: string[] = [];
      hsts.on("hsts-enforced", (m) => enforced.push(m.url.href));
      const { msg, text } = await get(session, `http://localhost:${https.port}/after`);
      assert.equal(text, `https localhost:${https.port} /after`);
      assert.equal(msg.url.protocol, "https:");
      assert.deepEqual(enforced, [`https://localhost:${https.port}/after`]);
    });
  });

  it("rewrites a redirect target to a known host", async () => {
    await withServers(async (https, http) => {
      await using session = new Session({ tlsDatabase: tlsFixture().caPem, proxyResolver: null, features: [new HSTSEnforcer()] });
      await get(session, `https://localhost:${https.port}/sts`);
      // 127.0.0.1 has no policy (IPs never do), so the first hop is plain http.
      const { msg, text } = await get(session, `http://127.0.0.1:${http.port}/redirect`);
      assert.equal(http.requests.length, 1);
      assert.equal(text, `https localhost:${https.port} /landing`);
      assert.equal(msg.url.href, `https://localhost:${https.port}/landing`);
    });
  });

  it("honours includeSubDomains for named hosts", async () => {
    await withServers(async (https) => {
      const hsts = new HSTSEnforcer();
      await using session = new Session({
        tlsDatabase: tlsFixture().caPem,
        proxyResolver: null,
        remoteConnectable: `127.0.0.1:${https.port}`,
        features: [hsts],
      });
      await get(session, `https://example.test:${https.port}/sts?v=max-age%3D600%3B%20includeSubDomains`);
      const { text } = await get(session, `http://www.example.test:${https.port}/sub`);
      assert.equal(text, `https www.example.test:${https.port} /sub`);
      // max-age=0 from the origin removes it again.
      await get(session, `https://example.test:${https.port}/sts?v=max-age%3D0`);
      assert.equal(hsts.hasValidPolicy("www.example.test"), false);
    });
  });

  it("ignores STS over plain http and from IP-literal hosts", async () => {
    await withServers(async (https, http) => {
      const hsts = new HSTSEnforcer();
      await using session = new Session({ tlsDatabase: tlsFixture().caPem, proxyResolver: null, features: [hsts] });
      const { text } = await get(session, `http://localhost:${http.port}/plain`);
      assert.equal(text, "http /plain");
      await get(session, `https://127.0.0.1:${https.port}/sts`);
      assert.deepEqual(hsts.getPolicies(), []);
      const again = await get(session, `http://localhost:${http.port}/plain2`);
      assert.equal(again.msg.url.protocol, "http:");
    });
  });

  it("makes a TLS failure on a known host fatal, with no plain-http fallback", async () => {
    await withServers(async (https, http) => {
      const hsts = new HSTSEnforcer();
      hsts.setSessionPolicy("localhost", false);
      // The session trusts an unrelated CA: the handshake must fail.
      await using session = new Session({ tlsDatabase: tlsFixture().otherCaPem, proxyResolver: null, features: [hsts] });
      const err = await get(session, `http://localhost:${https.port}/`).then(
        () => assert.fail("expected a TLS failure"),
        (e: unknown) => e,
      );
      assert.equal((err as { code?: string }).code, "TLS_FAILED");
      assert.ok(HSTSEnforcer.isFatalError(err));
      assert.equal(https.requests.length, 0);
      // The same failure on a host without a policy is an ordinary TLS error.
      const plain = await get(session, `https://127.0.0.1:${https.port}/`).then(
        () => null,
        (e: unknown) => e,
      );
      assert.equal((plain as { code?: string }).code, "TLS_FAILED");
      assert.equal(HSTSEnforcer.isFatalError(plain), false);
      assert.equal(http.requests.length, 0);
    });
  });

  it("works with CookieJar: Secure and app cookies go along on the upgraded request", async () => {
    const https = await startHttps((req, res) => {
      res.setHeader("Strict-Transport-Security", "max-age=600");
      res.setHeader("Set-Cookie", "sec=1; Secure; Path=/");
      res.end(req.headers.cookie ?? "");
    });
    try {
      const jar = new CookieJar({ secureOnLocalhost: false });
      await using session = new Session({ tlsDatabase: tlsFixture().caPem, proxyResolver: null, features: [jar, new HSTSEnforcer()] });
      await get(session, `https://localhost:${https.port}/`);
      const msg = new Message("GET", `http://localhost:${https.port}/`);
      msg.requestHeaders.set("Cookie", "app=1");
      const text = new TextDecoder().decode(await session.sendAndRead(msg));
      assert.equal(text, "app=1; sec=1");
    } finally {
      await https.close();
    }
  });
});

/**
 * Proxy authentication (407 / Proxy-Authenticate / Proxy-Authorization) through a real
 * Session and a loopback forward proxy: plain http through the proxy, https through a
 * CONNECT tunnel, proxy and origin auth on the same message, and no proxy credentials to
 * an origin that is reached directly.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Session } from "../../../src/http/session.js";
import { Message } from "../../../src/http/message.js";
import type { AuthenticateRequest } from "../../../src/http/authenticate.js";
import "../../../src/features/auth/index.js";
import { basic, makeCert, startHttpsServer, startProxy, startServer, type ProxyGate } from "./servers.js";
import { DigestVerifier } from "./digest-server.js";

/** A proxy gate that checks Proxy-Authorization: Digest with the verifying server code. */
function digestGate(v: DigestVerifier): ProxyGate {
  return {
    allow: (req) => {
      const asOrigin = { headers: { authorization: req.headers["proxy-authorization"] }, url: req.url, method: req.method };
      return v.check(asOrigin as never, Buffer.alloc(0)).ok;
    },
    challenges: () => v.challenges(),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const PROXY_AUTH = basic("proxyuser", "proxypass");

async function setup() {
  const proxy = await startProxy(PROXY_AUTH, `Basic realm="proxy"`);
  const origin = await startServer((req, res) => {
    res.end(`origin ${req.url} proxy-auth=${req.headers["proxy-authorization"] ?? "none"}`);
  });
  cleanups.push(
    () => proxy.close(),
    () => origin.close(),
  );
  return { proxy, origin };
}

function answering(s: Session, events: AuthenticateRequest[]): void {
  s.on("authenticate", (req) => {
    events.push(req);
    if (req.isProxy) req.authenticate("proxyuser", "proxypass");
    else req.authenticate("user", "pass");
  });
}

describe("proxy authentication", () => {
  let cert: { key: string; cert: string };
  before(() => {
    cert = makeCert();
  });
  after(() => undefined);

  it("http through a proxy that demands 407 auth, then preemptive Proxy-Authorization", async () => {
    const { proxy, origin } = await setup();
    const s = new Session({ proxyResolver: () => proxy.url });
    cleanups.push(() => s.close());
    const events: AuthenticateRequest[] = [];
    answering(s, events);
    const msg = new Message("GET", `${origin.url}/a`);
    const text = Buffer.from(await s.sendAndRead(msg)).toString();
    assert.equal(msg.status, 200);
    assert.equal(text, "origin /a proxy-auth=none"); // the proxy consumed it; the origin never saw it
    assert.equal(events.length, 1);
    assert.equal(events[0].isProxy, true);
    assert.equal(events[0].realm, "proxy");
    assert.deepEqual(
      proxy.seen.map((x) => x.proxyAuthorization),
      [null, PROXY_AUTH],
    );
    await s.sendAndRead(new Message("GET", `${origin.url}/b`));
    assert.equal(proxy.seen.length, 3);
    assert.equal(proxy.seen[2].proxyAuthorization, PROXY_AUTH);
    assert.equal(events.length, 1);
  });

  it("https through a CONNECT tunnel that answers 407", async () => {
    const { proxy } = await setup();
    const secure = await startHttpsServer(cert, (req, res) => res.end(`secure ${req.url}`));
    cleanups.push(() => secure.close());
    const s = new Session({ proxyResolver: () => proxy.url, tlsDatabase: cert.cert });
    cleanups.push(() => s.close());
    const events: AuthenticateRequest[] = [];
    answering(s, events);
    const msg = new Message("GET", `${secure.url}/tunnelled`);
    const text = Buffer.from(await s.sendAndRead(msg)).toString();
    assert.equal(msg.status, 200);
    assert.equal(text, "secure /tunnelled");
    assert.equal(events.length, 1);
    assert.equal(events[0].isProxy, true);
    const connects = proxy.seen.filter((x) => x.kind === "connect");
    assert.equal(connects.length, 2);
    assert.equal(connects[0].proxyAuthorization, null);
    assert.equal(connects[1].proxyAuthorization, PROXY_AUTH);
  });

  it("Digest proxy auth, for plain http (absolute URI) and for a CONNECT tunnel (host:port)", async () => {
    const v = new DigestVerifier({ users: { proxyuser: "proxypass" }, algorithms: ["SHA-256"], realm: "proxy" });
    const proxy = await startProxy(digestGate(v));
    const origin = await startServer((req, res) => res.end(`plain ${req.url}`));
    const secure = await startHttpsServer(cert, (req, res) => res.end(`secure ${req.url}`));
    cleanups.push(
      () => proxy.close(),
      () => origin.close(),
      () => secure.close(),
    );
    const s = new Session({ proxyResolver: () => proxy.url, tlsDatabase: cert.cert });
    cleanups.push(() => s.close());
    const events: AuthenticateRequest[] = [];
    answering(s, events);
    assert.equal(Buffer.from(await s.sendAndRead(new Message("GET", `${origin.url}/p?q=1`))).toString(), "plain /p?q=1");
    assert.equal(Buffer.from(await s.sendAndRead(new Message("GET", `${origin.url}/again`))).toString(), "plain /again");
    assert.equal(events.length, 1, "the second request was authorized up front");
    assert.equal(v.accepted[0].uri, `${origin.url}/p?q=1`);
    assert.equal(Buffer.from(await s.sendAndRead(new Message("GET", `${secure.url}/t`))).toString(), "secure /t");
    assert.equal(v.accepted.at(-1)!.uri, new URL(secure.url).host);
    assert.deepEqual(
      v.accepted.map((p) => p.nc),
      ["00000001", "00000002", "00000003"],
    );
  });

  it("a 407 from the proxy and a 401 from the origin on the same message", async () => {
    const proxy = await startProxy(PROXY_AUTH, `Basic realm="proxy"`);
    const origin = await startServer((req, res) => {
      if (req.headers.authorization === basic("user", "pass")) res.end("both");
      else {
        res.writeHead(401, { "WWW-Authenticate": `Basic realm="origin"` });
        res.end();
      }
    });
    cleanups.push(
      () => proxy.close(),
      () => origin.close(),
    );
    const s = new Session({ proxyResolver: () => proxy.url });
    cleanups.push(() => s.close());
    const events: AuthenticateRequest[] = [];
    answering(s, events);
    const msg = new Message("GET", `${origin.url}/x`);
    assert.equal(Buffer.from(await s.sendAndRead(msg)).toString(), "both");
    assert.deepEqual(
      events.map((e) => [e.isProxy, e.realm]),
      [
        [true, "proxy"],
        [false, "origin"],
      ],
    );
  });

  it("proxy credentials never go to an origin that is reached directly", async () => {
    const { proxy, origin } = await setup();
    const direct = await startServer((req, res) => res.end(req.headers["proxy-authorization"] ?? "none"));
    cleanups.push(() => direct.close());
    const directHost = new URL(direct.url).host;
    const s = new Session({ proxyResolver: (url) => (url.host === directHost ? null : proxy.url) });
    cleanups.push(() => s.close());
    answering(s, []);
    await s.sendAndRead(new Message("GET", `${origin.url}/via-proxy`));
    const msg = new Message("GET", `${direct.url}/direct`);
    assert.equal(Buffer.from(await s.sendAndRead(msg)).toString(), "none");
  });

  it("credentials in the proxy URL (HTTP_PROXY=http://user:pass@proxy) are used first", async () => {
    const { proxy, origin } = await setup();
    const withCreds = proxy.url.replace("http://", "http://proxyuser:proxypass@");
    const s = new Session({ proxyResolver: () => withCreds });
    cleanups.push(() => s.close());
    let asked = 0;
    s.on("authenticate", () => asked++);
    const msg = new Message("GET", `${origin.url}/u`);
    await s.sendAndRead(msg);
    assert.equal(msg.status, 200);
    assert.equal(asked, 0);
  });

  it("wrong proxy credentials end in the final 407", async () => {
    const { proxy, origin } = await setup();
    const s = new Session({ proxyResolver: () => proxy.url });
    cleanups.push(() => s.close());
    const retries: boolean[] = [];
    s.on("authenticate", (req) => {
      retries.push(req.isRetry);
      req.authenticate("proxyuser", "wrong");
    });
    const msg = new Message("GET", `${origin.url}/x`);
    await s.sendAndRead(msg);
    assert.equal(msg.status, 407);
    assert.deepEqual(retries, [false, true]);
  });
});

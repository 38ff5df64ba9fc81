/**
 * CookieJar through a real Session against loopback servers: every scheme (http, https),
 * redirects, Domain/Path, Secure, prefixes, SameSite and each accept policy.
 * 127.0.0.1 and localhost are two different sites; named hosts go through
 * `remoteConnectable` so real public suffixes (co.uk) can be tested.
 */
import assert from "node:assert/strict";
import type http from "node:http";
import { after, before, describe, it } from "node:test";
import { Message, Session } from "../../../src/index.js";
import { CookieJar, CookieJarAcceptPolicy, type CookieJarOptions } from "../../../src/features/cookies/index.js";
import { startHttp, startHttps, type TestServer } from "../hsts/servers.js";
import { tlsFixture } from "../hsts/tls-fixture.js";

/** /set?c=..&c=.. sets cookies; /redirect?to=..&c=.. redirects with cookies; all echo the Cookie header. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  const set = url.searchParams.getAll("c");
  if (set.length > 0) res.setHeader("Set-Cookie", set);
  if (url.pathname === "/redirect") {
    res.writeHead(302, { Location: url.searchParams.get("to") ?? "/" });
    res.end();
    return;
  }
  res.end(req.headers.cookie ?? "");
}

let plain: TestServer;
let secure: TestServer;
before(async () => {
  plain = await startHttp(handler);
  secure = await startHttps(handler);
});
after(async () => {
  await plain.close();
  await secure.close();
});

const q = (cookies: string[], extra = "") => `?${cookies.map((c) => `c=${encodeURIComponent(c)}`).join("&")}${extra}`;

function session(jar: CookieJar, extra: { remoteConnectable?: string } = {}): Session {
  return new Session({ tlsDatabase: tlsFixture().caPem, proxyResolver: null, features: [jar], ...extra });
}

async function get(s: Session, url: string, setup?: (m: Message) => void): Promise<string> {
  const msg = new Message("GET", url);
  setup?.(msg);
  return new TextDecoder().decode(await s.sendAndRead(msg));
}

function jarWith(options: CookieJarOptions = {}): CookieJar {
  return new CookieJar(options);
}

describe("CookieJar in a Session", () => {
  it("stores Set-Cookie and sends it back (http), HttpOnly included", async () => {
    const jar = jarWith();
    await using s = session(jar);
    const base = `http://127.0.0.1:${plain.port}`;
    assert.equal(await get(s, `${base}/set${q(["a=1", "h=2; HttpOnly"])}`), "");
    assert.equal(await get(s, `${base}/echo`), "a=1; h=2");
  });

  it("keeps cookies set on a redirect response and sends them on the redirected request", async () => {
    const jar = jarWith();
    await using s = session(jar);
    const base = `http://127.0.0.1:${plain.port}`;
    assert.equal(await get(s, `${base}/redirect${q(["hop=1"], `&to=${encodeURIComponent("/landing")}`)}`), "hop=1");
  });

  it("follows cross-site redirects with the right cookies for each hop", async () => {
    const jar = jarWith();
    await using s = session(jar);
    const other = `http://localhost:${plain.port}`;
    await get(s, `${other}/set${q(["there=1"])}`);
    const body = await get(s, `http://127.0.0.1:${plain.port}/redirect${q(["here=1"], `&to=${encodeURIComponent(`${other}/landing`)}`)}`, (m) =>
      m.requestHeaders.set("Cookie", "app=1"),
    );
    assert.equal(body, "there=1", "the app's header and 127.0.0.1's cookie stay behind");
    assert.equal(await jar.getCookieHeader(`http://127.0.0.1:${plain.port}/`), "here=1");
  });

  it("scopes by Path and by Domain, rejecting public suffixes from the real PSL", async () => {
    const jar = jarWith();
    await using s = session(jar, { remoteConnectable: `127.0.0.1:${plain.port}` });
    const host = (h: string) => `http://${h}:${plain.port}`;
    await get(s, `${host("www.shop.co.uk")}/set${q(["site=1; Domain=shop.co.uk", "psl=1; Domain=co.uk", "deep=1; Path=/account"])}`);
    assert.equal(await get(s, `${host("api.shop.co.uk")}/echo`), "site=1");
    assert.equal(await get(s, `${host("www.shop.co.uk")}/account/x`), "deep=1; site=1");
    assert.equal(await get(s, `${host("www.other.co.uk")}/echo`), "");
  });

  it("handles Secure and the __Secure-/__Host- prefixes across http and https", async () => {
    const jar = jarWith({ secureOnLocalhost: false });
    await using s = session(jar);
    const https = `https://localhost:${secure.port}`;
    const http = `http://localhost:${plain.port}`;
    await get(s, `${http}/set${q(["insecure-secure=1; Secure"])}`);
    await get(
      s,
      `${https}/set${q(["sec=1; Secure", "any=1", "__Host-h=1; Secure; Path=/", "__Host-bad=1; Secure; Path=/; Domain=localhost", "__Secure-s=1; Secure", "__Secure-bad=1"])}`,
    );
    assert.equal(await get(s, `${https}/echo`), "sec=1; any=1; __Host-h=1; __Secure-s=1");
    assert.equal(await get(s, `${http}/echo`), "any=1", "Secure cookies never go over plain http");
  });

  it("deletes a cookie on Max-Age=0 from the server", async () => {
    const jar = jarWith();
    await using s = session(jar);
    const base = `http://127.0.0.1:${plain.port}`;
    await get(s, `${base}/set${q(["gone=1", "stay=1; Max-Age=600"])}`);
    await get(s, `${base}/set${q(["gone=; Max-Age=0"])}`);
    assert.equal(await get(s, `${base}/echo`), "stay=1");
  });

  it("enforces SameSite using siteForCookies and isTopLevelNavigation", async () => {
    const jar = jarWith();
    await using s = session(jar);
    const base = `http://127.0.0.1:${plain.port}`;
    await get(s, `${base}/set${q(["l=1; SameSite=Lax", "st=1; SameSite=Strict", "n=1"])}`);
    const cross = new URL(`http://localhost:${plain.port}/`);
    assert.equal(await get(s, `${base}/echo`, (m) => (m.siteForCookies = new URL(base))), "l=1; st=1; n=1");
    assert.equal(await get(s, `${base}/echo`, (m) => (m.siteForCookies = cross)), "n=1");
    assert.equal(
      await get(s, `${base}/echo`, (m) => {
        m.siteForCookies = cross;
        m.isTopLevelNavigation = true;
      }),
      "l=1; n=1",
    );
  });

  it("ACCEPT_NEVER stores nothing", async () => {
    const jar = jarWith({ acceptPolicy: CookieJarAcceptPolicy.NEVER });
    await using s = session(jar);
    await get(s, `http://127.0.0.1:${plain.port}/set${q(["a=1"])}`);
    assert.equal(await get(s, `http://127.0.0.1:${plain.port}/echo`), "");
  });

  it("NO_THIRD_PARTY refuses cookies from another site than msg.firstParty", async () => {
    const jar = jarWith({ acceptPolicy: CookieJarAcceptPolicy.NO_THIRD_PARTY });
    await using s = session(jar);
    const first = new URL(`http://127.0.0.1:${plain.port}/page`);
    const third = `http://localhost:${plain.port}`;
    await get(s, `${third}/set${q(["t=1"])}`, (m) => (m.firstParty = first));
    await get(s, `${first.origin}/set${q(["f=1"])}`, (m) => (m.firstParty = first));
    assert.equal(await get(s, `${third}/echo`), "");
    assert.equal(await get(s, `${first.origin}/echo`), "f=1");
  });

  it("GRANDFATHERED_THIRD_PARTY lets a third party update cookies it set as a first party", async () => {
    const jar = jarWith({ acceptPolicy: CookieJarAcceptPolicy.GRANDFATHERED_THIRD_PARTY });
    await using s = session(jar);
    const first = new URL(`http://127.0.0.1:${plain.port}/page`);
    const third = `http://localhost:${plain.port}`;
    await get(s, `${third}/set${q(["t=1"])}`, (m) => (m.firstParty = first));
    assert.equal(await get(s, `${third}/echo`), "", "unknown third party refused");
    await get(s, `${third}/set${q(["own=1"])}`, (m) => (m.firstParty = new URL(third)));
    await get(s, `${third}/set${q(["t=2"])}`, (m) => (m.firstParty = first));
    assert.equal(await get(s, `${third}/echo`), "own=1; t=2");
  });
});

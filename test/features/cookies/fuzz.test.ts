/**
 * Bad input: random, truncated, binary and oversized Set-Cookie headers, over the wire
 * (a raw TCP server writes bytes Node's http module would refuse) and at the hook level.
 * The session must never throw because of them, and the jar must stay within its caps.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { Message, MessageHeaders, Session } from "../../../src/index.js";
import { CookieJar } from "../../../src/features/cookies/index.js";
import { HSTSEnforcer } from "../../../src/features/hsts/index.js";

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) & 0x7fffffff);
}

const SEEDS = [
  "sid=abc123; Path=/; Domain=127.0.0.1; Expires=Wed, 21 Oct 2099 07:28:00 GMT; Secure; HttpOnly; SameSite=Strict",
  "__Host-x=1; Secure; Path=/",
  'q="quoted value"; Max-Age=99999999999999999999',
  "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
];

/**
 * Random header bytes. `wire`: only what RFC 9110 allows in a field value (VCHAR, SP, HTAB,
 * obs-text), since the transport itself rejects other control bytes before any feature
 * runs; at the hook level every byte but CR/LF/NUL (which MessageHeaders refuses).
 */
function randomHeader(next: () => number, wire = false): string {
  if (next() % 3 === 0) {
    const seed = SEEDS[next() % SEEDS.length];
    return seed.slice(0, next() % (seed.length + 1));
  }
  const len = next() % 200;
  let out = "";
  for (let i = 0; i < len; i++) {
    let c = next() % 256;
    if (c === 0 || c === 10 || c === 13) c = 59; // ';'
    if (wire && ((c < 32 && c !== 9) || c === 127)) c = 61; // '='
    out += String.fromCharCode(c);
  }
  return out;
}

async function rawServer(headerLines: () => string[]): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((sock) => {
    sock.once("data", () => {
      const lines = headerLines();
      const head = [`HTTP/1.1 200 OK`, `Content-Length: 2`, `Connection: close`, ...lines.map((l) => `Set-Cookie: ${l}`)].join("\r\n");
      sock.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, "latin1"), Buffer.from("ok")]));
    });
    sock.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("hostile Set-Cookie over the wire", () => {
  it("random and truncated headers never fail the request", async () => {
    const next = rng(42);
    const srv = await rawServer(() => Array.from({ length: 1 + (next() % 20) }, () => randomHeader(next, true)));
    const jar = new CookieJar({ limits: { maxPerDomain: 20, maxTotal: 40 } });
    try {
      await using s = new Session({ proxyResolver: null, features: [jar, new HSTSEnforcer()] });
      for (let i = 0; i < 60; i++) {
        const body = await s.sendAndRead(new Message("GET", `http://127.0.0.1:${srv.port}/${i}`));
        assert.equal(new TextDecoder().decode(body), "ok");
      }
      assert.ok((await jar.count()) <= 40);
    } finally {
      await srv.close();
    }
  });

  it("a huge cookie and hundreds of headers in one response are dropped or capped", async () => {
    const srv = await rawServer(() => [`huge=${"x".repeat(5_000)}`, ...Array.from({ length: 500 }, (_, i) => `c${i}=1`)]);
    const jar = new CookieJar();
    try {
      await using s = new Session({ proxyResolver: null, features: [jar] });
      assert.equal(new TextDecoder().decode(await s.sendAndRead(new Message("GET", `http://127.0.0.1:${srv.port}/`))), "ok");
      const names = (await jar.allCookies()).map((c) => c.name);
      assert.equal(names.length, 49, "the huge one dropped, then the first 50 headers considered");
      assert.ok(!names.includes("huge"));
    } finally {
      await srv.close();
    }
  });
});

describe("hostile Set-Cookie at the hook level", () => {
  it("thousands of random headers never throw and memory stays capped", async () => {
    const next = rng(7);
    const jar = new CookieJar({ limits: { maxPerDomain: 30, maxTotal: 100 } });
    for (let round = 0; round < 100; round++) {
      const msg = new Message("GET", `https://h${round % 7}.example.com/p/${round}`);
      msg.status = 200;
      const h = new MessageHeaders();
      for (let i = 0; i < 60; i++) h.append("Set-Cookie", randomHeader(next).replace(/[\r\n\0]/g, ";"));
      h.append("Set-Cookie", `n${round}=1; Domain=example.com`);
      msg.responseHeaders = h;
      await jar.gotHeaders(msg);
      jar.requestQueued(msg);
      await jar.beforeSend(msg);
    }
    const count = await jar.count();
    assert.ok(count <= 100 && count > 0, String(count));
  });
});

describe("hostile Strict-Transport-Security at the hook level", () => {
  it("random and truncated headers never throw; policies stay capped", () => {
    const next = rng(99);
    const hsts = new HSTSEnforcer({ maxPolicies: 50 });
    const stsSeeds = ["max-age=31536000; includeSubDomains; preload", 'max-age="600"', "max-age=0"];
    for (let i = 0; i < 3000; i++) {
      const msg = new Message("GET", `https://h${i}.example.org/`);
      msg.status = 200;
      const seed = stsSeeds[i % stsSeeds.length];
      const value = i % 2 === 0 ? seed.slice(0, next() % (seed.length + 1)) : randomHeader(next).replace(/[\r\n\0]/g, " ");
      msg.responseHeaders = new MessageHeaders({ "Strict-Transport-Security": value });
      hsts.gotHeaders(msg);
      hsts.beforeSend(new Message("GET", `http://h${i}.example.org/`));
    }
    const n = hsts.getPolicies().length;
    assert.ok(n > 0 && n <= 50, String(n));
  });
});

/**
 * The message lifecycle's guarantees, on real sockets: no request waits forever (waiting
 * for a busy origin counts against the timeout; bodies dropped unread give their
 * connection back when collected), preconnect hands its connection over, ContentSniffer
 * settles and releases its connection for every body length and signature, errors land in
 * the right class, and the default features do not depend on what was imported.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { describe, it } from "node:test";
import { AbortError, SessionKitError, TimeoutError } from "../../src/errors.js";
import { ContentSniffer } from "../../src/features/sniffer/index.js";
import { Message } from "../../src/http/message.js";
import { defer, newSession, rejectsWithCode, sleep, startRawServer, startServer, until } from "./helpers.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const root = fileURLToPath(new URL("../../", import.meta.url));

/** A server whose /hang responses send headers and a first chunk, then never end. */
function hanging() {
  return startServer((req, res) => {
    if (req.url === "/hang") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write("x".repeat(100));
      return;
    }
    res.end("ok");
  });
}

describe("no request waits forever", () => {
  it("a request behind two unread send() bodies fails with TIMEOUT that says the origin was busy", async () => {
    const srv = await hanging();
    const s = newSession({ timeout: 400 });
    const a = await s.send(new Message("GET", `${srv.url}/hang`));
    const b = await s.send(new Message("GET", `${srv.url}/hang`));
    const started = Date.now();
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", `${srv.url}/ok`)), "TIMEOUT");
    assert.ok(err instanceof TimeoutError);
    assert.match(err.message, /busy/);
    assert.match(err.message, /127\.0\.0\.1/);
    assert.ok(Date.now() - started < 5000);
    a.cancel();
    b.cancel();
    assert.equal(Buffer.from(await s.sendAndRead(new Message("GET", `${srv.url}/ok`))).toString(), "ok");
  });

  it("the same for session.fetch responses that are never read", async () => {
    const srv = await hanging();
    const s = newSession({ timeout: 400 });
    const r1 = await s.fetch(`${srv.url}/hang`);
    const r2 = await s.fetch(`${srv.url}/hang`);
    await rejectsWithCode(s.fetch(`${srv.url}/ok`), "TIMEOUT");
    await r1.body?.cancel();
    await r2.body?.cancel();
    assert.equal(await (await s.fetch(`${srv.url}/ok`)).text(), "ok");
  });

  it("send() bodies dropped without being read give their connections back when collected", async () => {
    const srv = await hanging();
    const s = newSession({ timeout: 10_000 });
    await (async () => {
      await s.send(new Message("GET", `${srv.url}/hang`));
      await s.send(new Message("GET", `${srv.url}/hang`));
    })();
    // Both ResponseBody objects are unreachable now.
    const third = s.sendAndRead(new Message("GET", `${srv.url}/ok`));
    for (let i = 0; i < 20 && s.connectionCount >= 2; i++) {
      gc();
      await sleep(20);
    }
    assert.equal(Buffer.from(await third).toString(), "ok");
  });

  it("session.fetch responses dropped unread give their connections back when collected", async () => {
    const srv = await hanging();
    const s = newSession({ timeout: 10_000 });
    await (async () => {
      await s.fetch(`${srv.url}/hang`);
      await s.fetch(`${srv.url}/hang`);
    })();
    const third = s.fetch(`${srv.url}/ok`);
    for (let i = 0; i < 20 && s.connectionCount >= 2; i++) {
      gc();
      await sleep(20);
    }
    assert.equal(await (await third).text(), "ok");
  });

  it("a body being read is never taken away by the collector", async () => {
    const srv = await startServer((_req, res) => {
      res.writeHead(200);
      let n = 0;
      const t = setInterval(() => {
        res.write("y".repeat(1000));
        if (++n === 10) {
          clearInterval(t);
          res.end();
        }
      }, 10);
    });
    const s = newSession();
    const reader = (await s.fetch(srv.url)).body!.getReader();
    let size = 0;
    for (;;) {
      gc();
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
    }
    assert.equal(size, 10_000);
  });
});

describe("preconnect hands its connection over", () => {
  for (const maxConnsPerHost of [1, 2]) {
    it(`a request made while the preconnect is connecting takes that connection (maxConnsPerHost ${maxConnsPerHost})`, async () => {
      const srv = await startServer((_req, res) => res.end("ok"));
      const s = newSession({ maxConnsPerHost });
      const pre = s.preconnect(new Message("GET", srv.url));
      const body = await s.sendAndRead(new Message("GET", srv.url));
      await pre;
      assert.equal(Buffer.from(body).toString(), "ok");
      assert.equal(srv.accepted, 1);
      assert.equal(s.connectionCount, 1);
    });
  }

  it("a failed preconnect fails the request that took it over with the connect error, and the pool recovers", async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const s = newSession({ maxConnsPerHost: 1 });
    const pre = s.preconnect(new Message("GET", `http://127.0.0.1:${port}/`)).catch((e: unknown) => e);
    await rejectsWithCode(s.sendAndRead(new Message("GET", `http://127.0.0.1:${port}/`)), "CONNECTION_FAILED");
    assert.ok((await pre) instanceof SessionKitError);
    assert.equal(s.connectionCount, 0);
  });
});

describe("ContentSniffer settles and releases its connection for every body", () => {
  const lengths = [0, 1, 4, 5, 100, 512, 1444, 1445, 1446, 2000, 16_384, 65_000, 65_536, 70_000, 300_000];
  const signatures: Array<[string, Buffer]> = [
    ["jpeg prefix", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00])],
    ["gzip prefix", Buffer.from([0x1f, 0x8b, 0x08, 0x00])],
    ["png", Buffer.from("89504e470d0a1a0a0000000d49484452", "hex")],
    ["html", Buffer.from("<!DOCTYPE html><p>")],
    ["pdf", Buffer.from("%PDF-1.7\n")],
    ["zip", Buffer.from("PK\x03\x04")],
  ];
  const bodies: Array<[string, Buffer]> = [...lengths.map((n) => [`${n} bytes`, Buffer.alloc(n, 0x61)] as [string, Buffer]), ...signatures];

  it("send(), sendAndRead() and fetch() each get the whole body and the connections go back", async () => {
    let which = 0;
    const srv = await startServer((_req, res) => {
      const [, b] = bodies[which % bodies.length];
      res.writeHead(200, { "content-length": String(b.length) });
      res.end(b);
    });
    const s = newSession({ features: [new ContentSniffer()], timeout: 3000 });
    for (let i = 0; i < bodies.length; i++) {
      which = i;
      const [name, expected] = bodies[i];
      const viaSend = Buffer.from(await (await s.send(new Message("GET", srv.url))).bytes());
      assert.equal(viaSend.length, expected.length, `${name} via send`);
      const viaRead = Buffer.from(await s.sendAndRead(new Message("GET", srv.url)));
      assert.ok(viaRead.equals(expected), `${name} via sendAndRead`);
      const viaFetch = Buffer.from(await (await s.fetch(srv.url)).arrayBuffer());
      assert.ok(viaFetch.equals(expected), `${name} via fetch`);
      await until(() => s.idleConnectionCount === s.connectionCount, 2000, `connections released after ${name}`);
    }
    // Never more than the two per-host connections: nothing leaked one.
    assert.ok(srv.maxOpen <= 2);
  });
});

describe("errors land in the right class", () => {
  it("a status line 000 is PROTOCOL_ERROR, not a connection failure", async () => {
    const srv = await startRawServer((sock) => sock.end("HTTP/1.1 000 Nope\r\nContent-Length: 0\r\n\r\n"));
    const s = newSession();
    await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "PROTOCOL_ERROR");
  });

  it("a feature that throws fails the message with FEATURE_FAILED naming the feature and keeping the cause", async () => {
    const srv = await startServer((_req, res) => res.end("ok"));
    class Stamp {
      gotHeaders(): void {
        throw new RangeError("bad stamp");
      }
    }
    const s = newSession({ features: [new Stamp()] });
    const err = await rejectsWithCode(s.sendAndRead(new Message("GET", srv.url)), "FEATURE_FAILED");
    assert.match(err.message, /Stamp/);
    assert.match(err.message, /gotHeaders/);
    assert.ok(err.cause instanceof RangeError);
    // Its connection was not leaked.
    await until(() => s.connectionCount === s.idleConnectionCount);
  });

  it("instanceof works across two copies of the package, per class", async () => {
    const copy = (await import(`../../src/errors.ts?copy=${Date.now()}`)) as typeof import("../../src/errors.js");
    assert.notEqual(copy.AbortError, AbortError);
    const foreign = new copy.AbortError();
    assert.ok(foreign instanceof AbortError);
    assert.ok(foreign instanceof SessionKitError);
    assert.ok(!(foreign instanceof TimeoutError));
    assert.ok(new TimeoutError() instanceof copy.TimeoutError);
    assert.ok(!(new Error("x") instanceof AbortError));
  });
});

describe("default features do not depend on what was imported", () => {
  function runChild(code: string): string {
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: root, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  }

  it("a program that imports only sessionkit/login gets AuthManager and ContentDecoder", () => {
    const out = runChild(`
      import { ApiKeySession } from "./src/login/index.ts";
      const s = new ApiKeySession({ apiKey: "k", apiUrl: "http://127.0.0.1:9/api/" });
      console.log(s.http.features.map((f) => f.constructor.name).sort().join(","));
      await s.close();`);
    assert.equal(out, "AuthManager,ContentDecoder,CredentialFeature");
  });

  it("a program that imports only sessionkit/realtime answers a 401 on the upgrade (its private Session has AuthManager)", async () => {
    const seen: Array<string | undefined> = [];
    const server = http.createServer();
    server.on("upgrade", (req, socket) => {
      seen.push(req.headers.authorization);
      const status = req.headers.authorization ? "404 Not Found" : '401 Unauthorized\r\nWWW-Authenticate: Basic realm="rt"';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    defer(() => new Promise((r) => server.close(r)));
    const port = (server.address() as AddressInfo).port;
    const code = `
      import { RealtimeSession } from "./src/realtime/index.ts";
      const s = new RealtimeSession("ws://u:p@127.0.0.1:${port}/realtime", { reconnect: false });
      try { await s.connect(); } catch (e) { console.log(e.code); }
      await s.close().catch(() => {});`;
    const r = await new Promise<{ status: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: root });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d));
      child.stderr.on("data", (d: Buffer) => (err += d));
      child.on("exit", (status: number | null) => resolve({ status, out, err }));
    });
    assert.equal(r.status, 0, r.err);
    assert.deepEqual(seen, [undefined, `Basic ${Buffer.from("u:p").toString("base64")}`]);
  });
});

/**
 * HTTP/2 over ALPN: Node's http2 secure server (with and without allowHTTP1) and nginx with
 * `http2 on` on a TLS listener, certificates from the test PKI. One multiplexed connection
 * for a burst, the stream limit as a priority queue, the session's off switch and the
 * per-message FORCE_HTTP1, fallback to an https server without h2, GOAWAY and stream resets
 * as typed errors, and the features (cookies, auth, cache, decoder) over h2.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { gzipSync } from "node:zlib";
import { describe, it } from "node:test";
import { Message, MessageFlags, MessagePriority } from "../../src/http/message.js";
import { Cache } from "../../src/features/cache/index.js";
import { CookieJar } from "../../src/features/cookies/index.js";
import { HSTSEnforcer } from "../../src/features/hsts/index.js";
import { Logger, LoggerLogLevel } from "../../src/features/logger.js";
import { ContentSniffer } from "../../src/features/sniffer/index.js";
import type { AuthenticateRequest } from "../../src/http/authenticate.js";
import { defer, newSession, rejectsWithCode, startHttpsServer, text, tlsFixture } from "./helpers.js";

type H2Handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

interface H2Server {
  url: string;
  port: number;
  server: http2.Http2SecureServer;
  /** TLS connections accepted, and the ALPN protocol each one chose. */
  connections: string[];
  /** Streams open right now, and the most at once. */
  open: number;
  maxOpen: number;
  sessions: Set<http2.ServerHttp2Session>;
}

async function startH2(handler: H2Handler, options: http2.SecureServerOptions = {}): Promise<H2Server> {
  const tls = tlsFixture();
  const server = http2.createSecureServer({ cert: tls.serverCert, key: tls.serverKey, allowHTTP1: true, ...options });
  const out: H2Server = { url: "", port: 0, server, connections: [], open: 0, maxOpen: 0, sessions: new Set() };
  server.on("secureConnection", (s: TLSSocket) => out.connections.push(String(s.alpnProtocol)));
  server.on("session", (s: http2.ServerHttp2Session) => {
    out.sessions.add(s);
    s.on("close", () => out.sessions.delete(s));
  });
  server.on("request", (req, res) => {
    out.open++;
    out.maxOpen = Math.max(out.maxOpen, out.open);
    res.once("close", () => out.open--);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  out.port = (server.address() as net.AddressInfo).port;
  out.url = `https://127.0.0.1:${out.port}`;
  defer(
    () =>
      new Promise<void>((r) => {
        for (const s of out.sessions) s.destroy();
        server.close(() => r());
      }),
  );
  return out;
}

const ca = () => tlsFixture().caCert;
const get = (url: string) => new Message("GET", url);

describe("HTTP/2 against Node's http2 server", () => {
  it("negotiates h2 by ALPN and says so in msg.httpVersion", async () => {
    const srv = await startH2((req, res) => res.end(`v${req.httpVersion} ${req.url}`));
    const s = newSession({ tlsDatabase: ca() });
    const msg = get(`${srv.url}/a`);
    assert.equal(text(await s.sendAndRead(msg)), "v2.0 /a");
    assert.equal(msg.httpVersion, "2");
    assert.equal(msg.status, 200);
    assert.deepEqual(srv.connections, ["h2"]);
  });

  it("100 concurrent requests share ONE connection (counted once toward maxConnsPerHost)", async () => {
    const srv = await startH2((req, res) => setTimeout(() => res.end(req.url), 5));
    const s = newSession({ tlsDatabase: ca(), maxConnsPerHost: 2 });
    const msgs = Array.from({ length: 100 }, (_, i) => get(`${srv.url}/r${i}`));
    const bodies = await Promise.all(msgs.map((m) => s.sendAndRead(m)));
    bodies.forEach((b, i) => assert.equal(text(b), `/r${i}`));
    assert.equal(srv.connections.length, 1);
    assert.ok(msgs.every((m) => m.httpVersion === "2"));
    assert.ok(srv.maxOpen > 1, `streams ran concurrently (max ${srv.maxOpen})`);
  });

  it("requests beyond SETTINGS_MAX_CONCURRENT_STREAMS wait in the queue by priority", async () => {
    const order: string[] = [];
    const release: Array<() => void> = [];
    const srv = await startH2(
      (req, res) => {
        order.push(req.url!);
        if (req.url === "/first") release.push(() => res.end("1"));
        else res.end("ok");
      },
      { settings: { maxConcurrentStreams: 1 } },
    );
    const s = newSession({ tlsDatabase: ca() });
    const first = s.sendAndRead(get(`${srv.url}/first`));
    await waitFor(() => release.length === 1);
    const low = s.sendAndRead(get(`${srv.url}/low`), { priority: MessagePriority.LOW });
    const normal = s.sendAndRead(get(`${srv.url}/normal`));
    const high = s.sendAndRead(get(`${srv.url}/high`), { priority: MessagePriority.VERY_HIGH });
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(order, ["/first"], "nothing beyond the server's limit was sent");
    release[0]();
    await Promise.all([first, low, normal, high]);
    assert.deepEqual(order, ["/first", "/high", "/normal", "/low"]);
    assert.equal(srv.maxOpen, 1);
    assert.equal(srv.connections.length, 1);
  });

  it("http2: false on the session, and FORCE_HTTP1 on a message, keep HTTP/1.1", async () => {
    const srv = await startH2((req, res) => res.end(req.httpVersion));
    const s = newSession({ tlsDatabase: ca(), http2: false });
    assert.equal(s.http2, false);
    const m1 = get(`${srv.url}/`);
    assert.equal(text(await s.sendAndRead(m1)), "1.1");
    assert.equal(m1.httpVersion, "1.1");
    s.http2 = true;
    const m2 = get(`${srv.url}/`);
    assert.equal(text(await s.sendAndRead(m2)), "2.0");
    assert.equal(m2.httpVersion, "2");
    const m3 = get(`${srv.url}/`);
    m3.addFlags(MessageFlags.FORCE_HTTP1);
    assert.equal(text(await s.sendAndRead(m3)), "1.1");
    assert.equal(m3.httpVersion, "1.1");
    // FORCE_HTTP1 reused the HTTP/1.1 connection opened while http2 was off.
    assert.deepEqual(srv.connections, ["http/1.1", "h2"]);
    assert.throws(() => ((s as unknown as { http2: unknown }).http2 = "yes"), { code: "INVALID_ARGUMENT" });
  });

  it("without allowHTTP1 the server speaks only h2, and FORCE_HTTP1 fails as the server refuses it", async () => {
    const srv = await startH2((_req, res) => res.end("h2 only"), { allowHTTP1: false });
    const s = newSession({ tlsDatabase: ca() });
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/`))), "h2 only");
    const m = get(`${srv.url}/`);
    m.addFlags(MessageFlags.FORCE_HTTP1);
    await assert.rejects(s.sendAndRead(m), (e: Error & { code?: string }) => e.name === "NetworkError" || e.name === "ProtocolError");
  });

  it("an https server without h2 is spoken to in HTTP/1.1, transparently", async () => {
    const srv = await startHttpsServer((req, res) => res.end(`h1 ${req.url}`));
    const s = newSession({ tlsDatabase: ca() });
    const msgs = Array.from({ length: 6 }, (_, i) => get(`${srv.url}/f${i}`));
    const bodies = await Promise.all(msgs.map((m) => s.sendAndRead(m)));
    bodies.forEach((b, i) => assert.equal(text(b), `h1 /f${i}`));
    assert.ok(msgs.every((m) => m.httpVersion === "1.1"));
    // HTTP/1.1 pooling: up to maxConnsPerHost (2) connections, reused.
    assert.ok(srv.accepted <= 2, `connections: ${srv.accepted}`);
  });

  it("idleTimeout closes an idle h2 connection; preconnect opens one the next request uses", async () => {
    const srv = await startH2((_req, res) => res.end("x"));
    const s = newSession({ tlsDatabase: ca(), idleTimeout: 400 });
    await s.preconnect(get(`${srv.url}/`));
    await waitFor(() => srv.connections.length === 1);
    const m = get(`${srv.url}/`);
    m.addFlags(MessageFlags.COLLECT_METRICS);
    await s.sendAndRead(m);
    assert.equal(m.httpVersion, "2");
    assert.equal(srv.connections.length, 1, "the preconnected connection was used");
    assert.ok(m.metrics!.responseBodySize === 1 && m.metrics!.requestHeaderBytesSent > 0);
    await waitFor(() => srv.sessions.size === 0);
  });

  it("abort() and a timeout end one stream, not the shared connection", async () => {
    let later: (() => void) | null = null;
    const srv = await startH2((req, res) => {
      if (req.url === "/slow") return; // never answers
      if (req.url === "/later") later = () => res.end("fine");
      else res.end("fine");
    });
    const s = newSession({ tlsDatabase: ca() });
    const ac = new AbortController();
    const aborted = rejectsWithCode(s.sendAndRead(get(`${srv.url}/slow`), { signal: ac.signal }), "ABORTED");
    const other = s.sendAndRead(get(`${srv.url}/later`));
    await waitFor(() => srv.open === 2);
    ac.abort();
    await aborted;
    later!();
    assert.equal(text(await other), "fine");
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/ok`))), "fine");
    assert.equal(srv.connections.length, 1);

    s.headersTimeout = 100;
    await rejectsWithCode(s.sendAndRead(get(`${srv.url}/slow`)), "TIMEOUT");
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/ok`))), "fine");
    assert.equal(srv.connections.length, 1);

    s.headersTimeout = null;
    const pending = rejectsWithCode(s.sendAndRead(get(`${srv.url}/slow`)), "ABORTED");
    await waitFor(() => srv.open === 1);
    s.abort();
    await pending;
  });

  it("a stream reset by the server is NetworkError STREAM_RESET; the connection goes on", async () => {
    const srv = await startH2((req, res) => {
      if (req.url === "/reset") res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else res.end("ok");
    });
    const s = newSession({ tlsDatabase: ca() });
    const err = await rejectsWithCode(s.sendAndRead(get(`${srv.url}/reset`)), "STREAM_RESET");
    assert.equal(err.name, "NetworkError");
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/ok`))), "ok");
    assert.equal(srv.connections.length, 1);
  });

  it("GOAWAY: an idempotent request is retried once on a new connection; a POST fails with GOAWAY", async () => {
    let goaways = 0;
    const srv = await startH2((req, res) => {
      // The first connection answers nothing and says GOAWAY with last stream id 0.
      if (goaways === 0) {
        goaways++;
        setTimeout(() => req.stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 0), 10);
        return;
      }
      res.end(`again ${req.method}`);
    });
    const s = newSession({ tlsDatabase: ca() });
    const m = get(`${srv.url}/g`);
    assert.equal(text(await s.sendAndRead(m)), "again GET");
    assert.equal(srv.connections.length, 2);

    goaways = 0;
    const post = new Message("POST", `${srv.url}/p`);
    post.setRequestBody("text/plain", "x");
    const err = await rejectsWithCode(s.sendAndRead(post), "GOAWAY");
    assert.equal(err.name, "NetworkError");
  });

  it("cookies, a 401 Basic round, the cache and the decoder work over h2", async () => {
    const srv = await startH2((req, res) => {
      switch (req.url) {
        case "/set":
          res.setHeader("set-cookie", ["a=1; Path=/", "b=2; Path=/"]);
          return res.end("set");
        case "/echo":
          return res.end(String(req.headers.cookie ?? ""));
        case "/auth":
          if (req.headers.authorization !== `Basic ${Buffer.from("u:p").toString("base64")}`) {
            res.statusCode = 401;
            res.setHeader("www-authenticate", 'Basic realm="r"');
            return res.end("no");
          }
          return res.end("welcome");
        case "/cached":
          res.setHeader("cache-control", "max-age=60");
          return res.end(`n${++hits}`);
        case "/gz":
          res.setHeader("content-encoding", "gzip");
          return res.end(gzipSync("decoded over h2"));
      }
      res.statusCode = 404;
      res.end();
    });
    let hits = 0;
    const s = newSession({ tlsDatabase: ca(), features: [new CookieJar(), new Cache()] });
    await s.sendAndRead(get(`${srv.url}/set`));
    assert.equal(text(await s.sendAndRead(get(`${srv.url}/echo`))), "a=1; b=2");

    assert.equal(text(await s.sendAndRead(get(`${srv.url}/cached`))), "n1");
    const again = get(`${srv.url}/cached`);
    assert.equal(text(await s.sendAndRead(again)), "n1");
    assert.equal(hits, 1);
    assert.equal(again.fromCache, true);

    // (after the cache part: from here on every request carries Authorization)
    s.on("authenticate", (req: AuthenticateRequest) => req.authenticate("u", "p"));
    const am = get(`${srv.url}/auth`);
    assert.equal(text(await s.sendAndRead(am)), "welcome");
    assert.equal(am.httpVersion, "2");

    const gz = get(`${srv.url}/gz`);
    assert.equal(text(await s.sendAndRead(gz)), "decoded over h2");
    assert.equal(srv.connections.length, 1);
  });
});

describe("HTTP/2: the other features behave the same", () => {
  it("Logger (redacting), ContentSniffer and HSTSEnforcer over h2", async () => {
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    const srv = await startH2((req, res) => {
      if (req.url === "/png") return res.end(png); // no Content-Type: the sniffer decides
      res.setHeader("strict-transport-security", "max-age=600");
      res.end("sts");
    });
    const lines: string[] = [];
    const logger = new Logger({ level: LoggerLogLevel.HEADERS, printer: (_l, dir, line) => lines.push(`${dir} ${line}`) });
    const hsts = new HSTSEnforcer();
    const s = newSession({ tlsDatabase: ca(), features: [logger, new ContentSniffer(), hsts] });
    const sts = new Message("GET", `https://localhost:${srv.port}/sts?access_token=s3cret`);
    sts.requestHeaders.set("X-Api-Key", "k-secret");
    assert.equal(text(await s.sendAndRead(sts)), "sts");
    assert.equal(sts.httpVersion, "2");
    assert.equal(hsts.hasValidPolicy("localhost"), true);
    const log = lines.join("\n");
    assert.match(log, /Sessionkit-Debug/);
    assert.doesNotMatch(log, /s3cret|k-secret/);
    const sniffed = get(`${srv.url}/png`);
    await s.sendAndRead(sniffed);
    assert.equal(sniffed.sniffedContentType?.contentType, "image/png");
    assert.equal(sniffed.httpVersion, "2");
  });
});

describe("HTTP/2 against nginx", () => {
  const nginx = "/usr/sbin/nginx";
  const absent = !existsSync(nginx);
  if (absent && process.env.CI) throw new Error(`nginx is required in CI (${nginx} is missing)`);
  it(
    "100 concurrent requests over one h2 connection, and the fallback with http2 off",
    { skip: absent ? "nginx is not installed (/usr/sbin/nginx)" : false },
    async () => {
      const ng = await startNginx();
      const s = newSession({ tlsDatabase: ca() });
      const msgs = Array.from({ length: 100 }, (_, i) => get(`https://127.0.0.1:${ng.port}/n${i}`));
      const bodies = await Promise.all(msgs.map((m) => s.sendAndRead(m)));
      bodies.forEach((b, i) => assert.equal(text(b), `nginx /n${i} HTTP/2.0`));
      assert.ok(msgs.every((m) => m.httpVersion === "2"));
      const off = newSession({ tlsDatabase: ca(), http2: false });
      const m = get(`https://127.0.0.1:${ng.port}/h1`);
      assert.equal(text(await off.sendAndRead(m)), "nginx /h1 HTTP/1.1");
      assert.equal(m.httpVersion, "1.1");
      // nginx's access log has one line per request with the connection serial number.
      await s.close();
      await off.close();
      const conns = new Set(
        readFileSync(ng.accessLog, "utf8")
          .trim()
          .split("\n")
          .filter((l) => l.includes("HTTP/2.0"))
          .map((l) => l.split(" ")[0]),
      );
      assert.equal(conns.size, 1, `nginx saw h2 requests on connections ${[...conns].join(", ")}`);
    },
  );
});

async function startNginx(): Promise<{ port: number; accessLog: string }> {
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-nginx-"));
  const tls = tlsFixture();
  writeFileSync(join(dir, "cert.pem"), tls.serverCert);
  writeFileSync(join(dir, "key.pem"), tls.serverKey);
  const port = await freePort();
  const accessLog = join(dir, "access.log");
  // `http2 on` exists from nginx 1.25.1; older ones take `listen ... ssl http2`.
  const version = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(spawnSync("/usr/sbin/nginx", ["-v"], { encoding: "utf8" }).stderr);
  const [maj, min, pat] = version ? version.slice(1).map(Number) : [1, 25, 1];
  const oldHttp2 = maj === 1 && (min < 25 || (min === 25 && pat < 1));
  const conf = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format conn '$connection $request';
  access_log ${accessLog} conn;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl${oldHttp2 ? " http2" : ""};${oldHttp2 ? "" : "\n    http2 on;"}
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location / { default_type text/plain; return 200 "nginx $uri $server_protocol"; }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const check = spawnSync("/usr/sbin/nginx", ["-t", "-p", dir, "-c", join(dir, "nginx.conf")], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx config test failed: ${check.stderr}`);
  const child = spawn("/usr/sbin/nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  defer(async () => {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor(async () => {
    try {
      await new Promise<void>((resolve, reject) => {
        const c = net.connect(port, "127.0.0.1", () => (c.end(), resolve()));
        c.on("error", reject);
      });
      return true;
    } catch {
      return false;
    }
  }, 5000);
  return { port, accessLog };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

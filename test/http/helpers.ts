/**
 * Loopback servers for the http/ Session tests: an http/https origin that records every
 * request and counts its sockets (open now, most at once, ever accepted), a raw TCP server
 * for malformed HTTP, a small forward proxy (absolute-form + CONNECT) and a throwaway CA
 * with server and client certificates made by openssl at test time.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { afterEach } from "node:test";
import { Session, type SessionOptions } from "../../src/http/session.js";
import { tlsFixture } from "../helpers/tls.js";

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  /** Which accepted socket (0-based, in accept order) carried it. */
  socketId: number;
  remoteAddress: string;
}

export interface TestServer {
  /** e.g. http://127.0.0.1:1234 */
  url: string;
  port: number;
  requests: SeenRequest[];
  /** Sockets open right now. */
  readonly open: number;
  /** Most sockets open at the same time. */
  readonly maxOpen: number;
  /** Sockets accepted so far. */
  readonly accepted: number;
  /** Resolves when `n` sockets have been closed in total. */
  closedSockets(n: number): Promise<void>;
  readonly closedCount: number;
  /** Resolves when `n` requests have arrived (headers seen). */
  gotRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

type AnyServer = http.Server | https.Server | net.Server;

/** Cleanups registered by tests, run after each test (last first). */
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()!();
    } catch {
      /* best effort */
    }
  }
});

export function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

function track(server: AnyServer, scheme: string, handler: Handler | null, connEvent = "connection"): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let maxOpen = 0;
  let accepted = 0;
  let closedCount = 0;
  const closeWaiters: Array<{ n: number; resolve: () => void }> = [];
  const reqWaiters: Array<{ n: number; resolve: () => void }> = [];
  const ids = new WeakMap<net.Socket, number>();
  const requests: SeenRequest[] = [];
  server.on(connEvent, (s: net.Socket) => {
    ids.set(s, accepted++);
    sockets.add(s);
    maxOpen = Math.max(maxOpen, sockets.size);
    s.on("error", () => undefined);
    s.on("close", () => {
      sockets.delete(s);
      closedCount++;
      for (const w of closeWaiters.filter((x) => closedCount >= x.n)) {
        closeWaiters.splice(closeWaiters.indexOf(w), 1);
        w.resolve();
      }
    });
  });
  if (handler !== null) {
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      const seen: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.alloc(0),
        socketId: ids.get(req.socket) ?? ids.get((req.socket as unknown as { _parent?: net.Socket })._parent!) ?? -1,
        remoteAddress: req.socket.remoteAddress ?? "",
      };
      requests.push(seen);
      for (const w of reqWaiters.filter((x) => requests.length >= x.n)) {
        reqWaiters.splice(reqWaiters.indexOf(w), 1);
        w.resolve();
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        seen.body = Buffer.concat(chunks);
        handler(req, res, seen.body);
      });
    });
  }
  const state: TestServer = {
    url: "",
    port: 0,
    requests,
    get open() {
      return sockets.size;
    },
    get maxOpen() {
      return maxOpen;
    },
    get accepted() {
      return accepted;
    },
    get closedCount() {
      return closedCount;
    },
    closedSockets: (n) => (closedCount >= n ? Promise.resolve() : new Promise<void>((resolve) => closeWaiters.push({ n, resolve }))),
    gotRequests: (n) => (requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => reqWaiters.push({ n, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      state.port = (server.address() as AddressInfo).port;
      state.url = `${scheme}://127.0.0.1:${state.port}`;
      defer(() => state.close());
      resolve(state);
    });
  });
}

/** An http origin on 127.0.0.1, closed after the test. */
export function startServer(handler: Handler): Promise<TestServer> {
  const server = http.createServer({ keepAliveTimeout: 10_000 });
  return track(server, "http", handler);
}

/** An https origin on 127.0.0.1 with the test CA's server certificate. */
export function startHttpsServer(handler: Handler, extra: https.ServerOptions = {}): Promise<TestServer> {
  const tls = tlsFixture();
  const server = https.createServer({ key: tls.serverKey, cert: tls.serverCert, keepAliveTimeout: 10_000, ...extra });
  server.on("tlsClientError", () => undefined);
  // For https the "connection" event sees the TCP socket; count those.
  return track(server, "https", handler);
}

/** A raw TCP server: `onSocket` writes whatever bytes it likes (malformed HTTP). */
export function startRawServer(onSocket: (s: net.Socket, firstChunk: Buffer) => void): Promise<TestServer> {
  const server = net.createServer((s) => {
    s.once("data", (chunk: Buffer) => onSocket(s, chunk));
  });
  return track(server, "http", null);
}

/**
 * A forward proxy: absolute-form requests are forwarded to their origin; CONNECT opens a
 * tunnel. Records what it saw.
 */
export interface TestProxy extends TestServer {
  /** absolute-form request targets seen (e.g. "http://127.0.0.1:1/x"). */
  forwarded: string[];
  /** CONNECT authorities seen. */
  connects: string[];
  /** Proxy-Authorization headers seen (forward + CONNECT). */
  proxyAuth: Array<string | undefined>;
}

export async function startProxy(): Promise<TestProxy> {
  const forwarded: string[] = [];
  const connects: string[] = [];
  const proxyAuth: Array<string | undefined> = [];
  const server = http.createServer();
  server.on("connect", (req: IncomingMessage, client: net.Socket, head: Buffer) => {
    connects.push(req.url ?? "");
    proxyAuth.push(req.headers["proxy-authorization"]);
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    client.on("close", () => upstream.destroy());
  });
  const handler: Handler = (req, res, body) => {
    forwarded.push(req.url ?? "");
    proxyAuth.push(req.headers["proxy-authorization"]);
    const target = new URL(req.url ?? "");
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    delete headers["proxy-connection"];
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: target.pathname + target.search,
        headers: { ...headers, via: "1.1 test-proxy" },
        agent: false,
      },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end("bad gateway");
    });
    up.end(body);
  };
  const state = (await track(server, "http", handler)) as TestProxy;
  state.forwarded = forwarded;
  state.connects = connects;
  state.proxyAuth = proxyAuth;
  return state;
}

// ── TLS fixture (shared with the feature tests) ──────────────────────────────────────────

export { tlsFixture, type HttpTlsFixture } from "../helpers/tls.js";

// ── small utilities ───────────────────────────────────────────────────────────────────

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `cond()` holds (polling), failing after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Asserts that `p` rejects with an error carrying `code`; returns the error. */
export async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<Error & { code: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code !== code) {
      const wrapped = new Error(`expected code ${code}, got ${String(e.code)}: ${e.name}: ${e.message}`, { cause: e });
      throw wrapped;
    }
    return e as Error & { code: string };
  }
  throw new Error(`expected a rejection with code ${code}, but it resolved`);
}

export const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

/** A Session that ignores the environment's proxies, closed after the test. */
export function newSession(options: SessionOptions = {}): Session {
  const s = new Session({ proxyResolver: null, ...options });
  defer(() => s.close());
  return s;
}

/** A handler that parks every response until `release()`; `held` is how many wait. */
export function gate(respond: (res: ServerResponse, req: IncomingMessage) => void = (res) => res.end("ok")) {
  const parked: Array<() => void> = [];
  return {
    handler: ((req, res) => {
      parked.push(() => respond(res, req));
    }) as Handler,
    get held() {
      return parked.length;
    },
    release() {
      for (const f of parked.splice(0)) f();
    },
  };
}

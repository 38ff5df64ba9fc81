/**
 * Loopback servers for the auth tests: an origin server with per-request counting, a
 * proxy that demands Proxy-Authorization (forwarding absolute-form requests and tunnelling
 * CONNECT), and a throwaway self-signed certificate for the https case.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

export interface TestServer {
  url: string;
  port: number;
  /** Requests received so far. */
  count: number;
  /** Every request's Authorization header (or null). */
  authorizations: Array<string | null>;
  close(): Promise<void>;
}

function track(server: http.Server | https.Server, handler: Handler, scheme: string): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const state: TestServer = {
    url: "",
    port: 0,
    count: 0,
    authorizations: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.count++;
      state.authorizations.push(req.headers.authorization ?? null);
      handler(req, res, Buffer.concat(chunks));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      state.port = (server.address() as AddressInfo).port;
      state.url = `${scheme}://127.0.0.1:${state.port}`;
      resolve(state);
    });
  });
}

export function startServer(handler: Handler): Promise<TestServer> {
  return track(http.createServer(), handler, "http");
}

export function startHttpsServer(cert: { key: string; cert: string }, handler: Handler): Promise<TestServer> {
  return track(https.createServer({ key: cert.key, cert: cert.cert }), handler, "https");
}

/** A self-signed certificate for 127.0.0.1, made with the openssl CLI. */
export function makeCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "sk-auth-"));
  try {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestProxy {
  url: string;
  /** Requests (absolute-form) and CONNECTs seen, with their Proxy-Authorization. */
  seen: Array<{ kind: "http" | "connect"; target: string; proxyAuthorization: string | null }>;
  close(): Promise<void>;
}

/** Decides whether a request may pass the proxy; `challenges` are sent with the 407. */
export interface ProxyGate {
  allow(req: IncomingMessage): boolean;
  challenges(): string[];
}

/**
 * A forward proxy that demands `Proxy-Authorization: <expected>` (or whatever `gate`
 * allows), answering 407 with the challenge otherwise; it forwards absolute-form requests
 * and tunnels CONNECT.
 */
export function startProxy(expected: string | ProxyGate, challenge = ""): Promise<TestProxy> {
  const gate: ProxyGate =
    typeof expected === "string" ? { allow: (req) => req.headers["proxy-authorization"] === expected, challenges: () => [challenge] } : expected;
  const sockets = new Set<net.Socket>();
  const seen: TestProxy["seen"] = [];
  const server = http.createServer((req, res) => {
    const auth = req.headers["proxy-authorization"] ?? null;
    seen.push({ kind: "http", target: req.url ?? "", proxyAuthorization: auth });
    if (!gate.allow(req)) {
      res.writeHead(407, { "Proxy-Authenticate": gate.challenges(), "Content-Length": "0" });
      res.end();
      return;
    }
    const target = new URL(req.url ?? "");
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    const up = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("connect", (req: IncomingMessage, client: net.Socket, head: Buffer) => {
    const auth = req.headers["proxy-authorization"] ?? null;
    seen.push({ kind: "connect", target: req.url ?? "", proxyAuthorization: auth });
    if (!gate.allow(req)) {
      const lines = gate
        .challenges()
        .map((c) => `Proxy-Authenticate: ${c}\r\n`)
        .join("");
      client.end(`HTTP/1.1 407 Proxy Authentication Required\r\n${lines}Content-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    const [host, port] = (req.url ?? "").split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        seen,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

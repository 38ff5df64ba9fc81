/** Loopback http/https servers for the cookie and HSTS tests, each closed by the test. */
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tlsFixture } from "./tls-fixture.js";

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface TestServer {
  port: number;
  /** Every request seen, in order. */
  requests: Array<{ url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

async function listen(server: http.Server | https.Server, requests: TestServer["requests"]): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export function startHttp(handler: Handler): Promise<TestServer> {
  const requests: TestServer["requests"] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    handler(req, res);
  });
  return listen(server, requests);
}

export function startHttps(handler: Handler): Promise<TestServer> {
  const { certPem, keyPem } = tlsFixture();
  const requests: TestServer["requests"] = [];
  const server = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
    requests.push({ url: `${req.headers.host ?? ""}${req.url ?? ""}`, headers: req.headers });
    handler(req, res);
  });
  // Handshake failures (the bad-CA tests) are expected; keep them quiet.
  server.on("tlsClientError", () => undefined);
  return listen(server, requests);
}

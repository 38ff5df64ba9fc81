/** Small helpers shared by the realtime tests. */
import http from "node:http";
import net from "node:net";
import { RealtimeServer, type RealtimeServerOptions } from "../../src/realtime/index.js";

/** Resolves once `check()` is true; fails the test after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A server on an ephemeral loopback port with short timers for tests. */
export async function startServer(options: RealtimeServerOptions = {}): Promise<{ server: RealtimeServer; url: string }> {
  const server = new RealtimeServer({ pingPeriod: 100, keepAlive: 5000, handshakeTimeout: 2000, ...options });
  const url = await server.listen(0);
  return { server, url };
}

/**
 * Like startServer, but attached to an http server of the test's own, so a test can tell
 * when the server side has seen a TCP connection end (`openConnections()`).
 */
export async function startTrackedServer(options: RealtimeServerOptions = {}) {
  const server = new RealtimeServer({ pingPeriod: 100, keepAlive: 5000, handshakeTimeout: 2000, ...options });
  const httpServer = http.createServer((_req, res) => res.writeHead(426).end());
  const open = new Set<net.Socket>();
  httpServer.on("connection", (socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", () => r()));
  await server.attach(httpServer);
  return {
    server,
    url: server.url!,
    /** TCP connections the server side still has open (upgraded or not). */
    openConnections: () => open.size,
    async [Symbol.asyncDispose]() {
      await server.close();
      httpServer.closeAllConnections();
      await new Promise((r) => httpServer.close(r));
    },
  };
}

/** Fast reconnect settings for tests. */
export const fastReconnect = { timeout: 5000, strategy: () => 10 };

/**
 * A TCP relay in front of a server, to cut or freeze the network under a live socket:
 * `cut()` destroys every relayed connection, `freeze()` silently stops forwarding (a dead
 * network that TCP has not noticed), `thaw()` forwards again for new connections.
 * `pause()` stops reading what the server sends (a client too slow to keep up: the bytes
 * back up into the server's socket), `resume()` reads again.
 */
export async function startRelay(targetPort: number) {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let frozen = false;
  let paused = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    if (paused) upstream.pause();
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on("data", (d) => {
        if (!frozen) to.write(d);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    cut() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
    },
    pause() {
      paused = true;
      for (const [, upstream] of pairs) upstream.pause();
    },
    resume() {
      paused = false;
      for (const [, upstream] of pairs) upstream.resume();
    },
    async close() {
      this.cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

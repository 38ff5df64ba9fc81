/**
 * One server process of the realtime scale benchmark (bench/realtime-scale.ts), driven
 * over IPC. MODE=cluster: a RealtimeServer on the Redis backplane (REDIS_URL, PREFIX);
 * MODE=standalone: a RealtimeServer alone; MODE=ws: a plain `ws` server whose broadcast
 * is a loop over its clients. Run with --expose-gc so memory is read after a collection.
 *
 * Messages: {cmd:"mem"} → {heap, rss, sessions}; {cmd:"fanout", n} → n pushes to every
 * session (sendToFilter, or the ws loop), answered {ms} when issued.
 */
import http from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { RealtimeServer } from "../src/realtime/index.js";

const mode = process.env.MODE ?? "cluster";
const send = (m: unknown) => process.send!(m);
const gc = (globalThis as { gc?: () => void }).gc;

function memory(sessions: number) {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, sessions };
}

const payload = { headline: "prices moved", at: 0 };

if (mode === "ws") {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const clients = new Set<WebSocket>();
  server.on("upgrade", (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on("close", () => clients.delete(ws));
      ws.on("error", () => {});
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  process.on("message", (m: { cmd: string; n?: number }) => {
    if (m.cmd === "mem") send({ ...memory(clients.size) });
    if (m.cmd === "fanout") {
      const start = performance.now();
      for (let i = 0; i < m.n!; i++) {
        // What an application writes by hand: serialise once, send to each socket.
        const text = JSON.stringify({ t: "m", p: "news", d: { ...payload, at: i } });
        for (const ws of clients) ws.send(text);
      }
      send({ ms: performance.now() - start });
    }
  });
  send({ port: (server.address() as { port: number }).port });
} else {
  const server = new RealtimeServer({
    pingPeriod: 10_000,
    keepAlive: 60_000,
    // The benchmark opens thousands at once on a small machine: let slow handshakes finish.
    handshakeTimeout: 60_000,
    // Every benchmark client comes from 127.0.0.1: lift the per-address limits, and the
    // total and pending limits so that a node can take over a dead node's sessions at once.
    maxSessions: 100_000,
    maxSessionsPerAddress: Infinity,
    maxPendingHandshakes: 20_000,
    maxPendingPerAddress: Infinity,
    cluster: mode === "cluster" ? { url: process.env.REDIS_URL!, prefix: process.env.PREFIX! } : undefined,
  });
  server.on("handler-error", (err) => console.error("handler-error", err.message));
  const url = await server.listen(0);
  process.on("message", (m: { cmd: string; n?: number }) => {
    if (m.cmd === "mem") send(memory(server.sessions.size));
    if (m.cmd === "fanout") {
      void (async () => {
        const start = performance.now();
        for (let i = 0; i < m.n!; i++) await server.sendToFilter(() => true, "news", { ...payload, at: i });
        send({ ms: performance.now() - start });
      })();
    }
  });
  send({ port: Number(new URL(url).port) });
}

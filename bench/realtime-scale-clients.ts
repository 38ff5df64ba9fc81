/**
 * A client process of the realtime scale benchmark: opens COUNT sessions (RealtimeSession
 * through one shared HTTP Session, or raw `ws` sockets with MODE=ws) to the URLs in
 * URLS (comma-separated; session i starts on URL i mod n and fails over to the others),
 * counts the pushes they receive and reports, over IPC, when asked:
 *   {cmd:"open"} → {opened, ms}; {cmd:"count"} → {received, connected, recovered, closed}
 *   {cmd:"recovery", since} → recovery times (ms after `since`, a Date.now()) so far.
 */
import { WebSocket } from "ws";
import { Session } from "../src/http/session.js";
import { RealtimeSession } from "../src/realtime/index.js";

const mode = process.env.MODE ?? "cluster";
const urls = process.env.URLS!.split(",");
const count = Number(process.env.COUNT);
const offset = Number(process.env.OFFSET ?? 0);
const send = (m: unknown) => process.send!(m);

let received = 0;
let recovered = 0;
let closed = 0;
let failed = 0;
const reasons: Record<string, number> = {};
const recoveredAt: number[] = [];
const sessions: RealtimeSession[] = [];
const sockets: WebSocket[] = [];
const http = new Session();

async function openAll(): Promise<number> {
  const start = performance.now();
  const batch = Number(process.env.IN_FLIGHT ?? 100); // connections in flight at once
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async (_, j) => {
        const k = offset + i + j;
        const rotated = urls.map((_u, x) => urls[(k + x) % urls.length]!);
        if (mode === "ws") {
          const ws = new WebSocket(rotated[0]!, { perMessageDeflate: false });
          ws.on("error", () => {});
          ws.on("message", () => received++);
          await new Promise((r) => ws.once("open", r));
          sockets.push(ws);
          return;
        }
        const s = new RealtimeSession(rotated, { httpSession: http, reconnect: { timeout: 60_000 }, connectTimeout: 60_000 });
        s.addHandler("news", () => {
          received++;
        });
        s.on("recovered", () => {
          recovered++;
          recoveredAt.push(Date.now());
        });
        s.on("closed", (reason) => {
          closed++;
          reasons[reason.name] = (reasons[reason.name] ?? 0) + 1;
        });
        try {
          await s.connect();
          sessions.push(s);
        } catch (err) {
          failed++;
          if (failed === 1) console.error("connect failed:", (err as Error).message);
        }
      }),
    );
  }
  return performance.now() - start;
}

process.on("message", (m: { cmd: string; since?: number }) => {
  if (m.cmd === "open") void openAll().then((ms) => send({ opened: sessions.length + sockets.length, failed, ms }));
  if (m.cmd === "count") {
    const connected = mode === "ws" ? sockets.length : sessions.filter((s) => s.state === "CONNECTED_ACTIVE").length;
    send({ received, connected, recovered, closed });
  }
  if (m.cmd === "recovery") send({ times: recoveredAt.map((t) => t - m.since!), reasons });
  if (m.cmd === "exit") process.exit(0);
});
send({ ready: true });

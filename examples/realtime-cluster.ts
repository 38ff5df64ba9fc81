/**
 * Two clustered RealtimeServer nodes sharing sessions through Redis. A client connected
 * to node A is reached by a push from node B; when A shuts down, the client resumes the
 * same session on B without losing a message.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/realtime-cluster.ts
 */
import { RealtimeServer, RealtimeSession } from "../src/realtime/index.js";

const cluster = { url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379", prefix: `example:${process.pid}:` };
const a = new RealtimeServer({ cluster: { ...cluster, nodeId: "a" } });
const b = new RealtimeServer({ cluster: { ...cluster, nodeId: "b" } });
const urls = [await a.listen(0), await b.listen(0)];
for (const node of [a, b]) node.addHandler("where", () => node.nodeId ?? "");

const session = await new RealtimeSession(urls, { reconnect: { timeout: 10_000 } }).connect();
session.addHandler("news", (v) => console.log("client got", v));
console.log("connected to node", await session.request("where", null));

await b.sendToSession(session.sessionId!, "news", "pushed from node b, routed through Redis");
await a.close(); // node a goes away; its sessions stay in Redis
await b.sendToSession(session.sessionId!, "news", "sent while the client was moving");
await new Promise((r) => session.once("recovered", () => r(undefined)));
console.log("now on node", await session.request("where", null), "with the same id", session.sessionId);

await session.close();
await b.close();

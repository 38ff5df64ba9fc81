/**
 * Issue 2 speed targets: Session.sendAndRead (default features) vs undici.request, Node's
 * global fetch, got and axios; session.fetch vs global fetch; all against a local server in
 * a separate process, small bodies, the same number of connections for every client, at
 * concurrency 1 and 64. Then streams 1 GiB through sendAndSplice and reports the growth of
 * resident memory. Run: npm run build && npx tsx bench/http-client.ts [--quick]
 */
import http from "node:http";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, request } from "undici";
import got from "got";
import axios from "axios";
import { loadSessionkit } from "./lib/load.js";
import { compare, printTable, startServerProcess } from "./lib/measure.js";

const { Message, Session } = await loadSessionkit();

const quick = process.argv.includes("--quick");
const { port, child } = await startServerProcess();
const url = `http://127.0.0.1:${port}/`;

async function scenario(concurrency: number): Promise<void> {
  const conns = concurrency;
  const agent = new Agent({ connections: conns, pipelining: 1, keepAliveTimeout: 60_000 });
  const session = new Session({ maxConns: conns, maxConnsPerHost: conns });
  const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const gotClient = got.extend({ agent: { http: nodeAgent }, retry: { limit: 0 } });
  const axiosClient = axios.create({ httpAgent: nodeAgent, responseType: "arraybuffer" });
  const fetchDispatcher = new Agent({ connections: conns, pipelining: 1 });
  const medians = await compare(
    {
      "sessionkit sendAndRead": () => session.sendAndRead(new Message("GET", url)),
      "sessionkit fetch": async () => (await session.fetch(url)).arrayBuffer(),
      "undici request": async () => (await request(url, { dispatcher: agent })).body.arrayBuffer(),
      "global fetch": async () => (await fetch(url, { dispatcher: fetchDispatcher } as RequestInit)).arrayBuffer(),
      got: () => gotClient(url).buffer(),
      axios: () => axiosClient.get(url),
    },
    { concurrency, ms: quick ? 500 : 2000, rounds: quick ? 3 : 5, warmupMs: quick ? 1000 : 2000 },
  );
  printTable(`concurrency ${concurrency}, ${conns} connection(s) each`, medians, "sessionkit sendAndRead", [
    "undici request",
    "global fetch",
    "got",
    "axios",
  ]);
  console.log(`ratio sessionkit fetch / global fetch: ${(medians["sessionkit fetch"] / medians["global fetch"]).toFixed(2)}×`);
  await session.close();
  await agent.close();
  await fetchDispatcher.close();
  nodeAgent.destroy();
}

/** Peak RSS growth while `run` streams a big body into a sink that drops it. */
async function rssGrowth(run: (sink: Writable) => Promise<number>): Promise<{ bytes: number; secs: number; growthMiB: number }> {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const t0 = performance.now();
  const bytes = await run(sink);
  const secs = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { bytes, secs, growthMiB: (peak - before) / 1048576 };
}

async function spliceMemory(mib: number): Promise<void> {
  const big = `http://127.0.0.1:${port}/big?mib=${mib}`;
  const session = new Session();
  const ours = await rssGrowth((sink) => session.sendAndSplice(new Message("GET", big), sink));
  await session.close();
  // The same stream through undici alone, as the floor for what the transport costs.
  const peer = await rssGrowth(async (sink) => {
    const res = await request(big);
    let n = 0;
    res.body.on("data", (c: Buffer) => (n += c.length));
    await pipeline(res.body, sink);
    return n;
  });
  console.log(`\n## sendAndSplice of ${mib} MiB`);
  console.log(
    `sessionkit: ${ours.bytes} bytes, ${(ours.bytes / 1048576 / ours.secs).toFixed(0)} MiB/s, peak RSS growth ${ours.growthMiB.toFixed(1)} MiB (target < 100 MiB)`,
  );
  console.log(`undici request + pipeline: ${(peer.bytes / 1048576 / peer.secs).toFixed(0)} MiB/s, peak RSS growth ${peer.growthMiB.toFixed(1)} MiB`);
}

try {
  await scenario(1);
  await scenario(64);
  await spliceMemory(quick ? 256 : 1024);
} finally {
  child.kill();
}

/**
 * HTTP client benchmark (issues 2 and 14). Run: npm run build && npx tsx bench/http-client.ts
 *
 * 1. Client-bound (the default section): every client against a server that is not the
 *    bottleneck, so req/s and CPU per request measure the client — nginx when installed
 *    (started from here with a config of its own in a tmp dir, one worker, access log off,
 *    keep-alive without limit; see lib/peer-server.ts), else a raw `net` server writing a
 *    canned response from its own process. GET /ok → 200 "ok", no Content-Encoding; the
 *    sessions keep their default features (ContentDecoder, AuthManager). Each client gets
 *    its own `c` keep-alive connections (c = 1 and 64), opened in warm-up and kept for the
 *    whole run (idle timeouts raised; the server's accepted-connection count is checked at
 *    the end). Rows: `sendAndRead`, `send()` consumed as a stream, `session.fetch`, undici
 *    `Pool.request` (the reference), undici `fetch`. Each row: median req/s and median
 *    client CPU µs per request (process.cpuUsage over the round ÷ requests) of ≥ 5
 *    interleaved rounds of 1.5 s (order rotated every round) after a warm-up, and both
 *    ratios to undici `Pool.request`, as ratio of medians and median of per-round ratios.
 *    With two or more cores this process is pinned to CPU 0 and the server to CPU 1.
 * 2. Server-bound (`--node-server`, or after section 1 in a full run): the old setup, a
 *    node:http server in a child process on the same cores, with Node's global fetch, got
 *    and axios added. The Node server saturates before the clients do, so these req/s
 *    measure the server as much as the client: kept for continuity, not for client targets.
 * 3. 1 GiB through `sendAndSplice` (server-bound section): peak RSS growth.
 *
 * Options: --quick (3 rounds of 0.5 s), --rounds N, --ms N, --client-only (section 1
 * only), --node-server (sections 2 and 3 only), --before DIR (add rows for the compiled
 * build of another checkout, e.g. a worktree of an older commit, measured in the same
 * rounds as this one: before/after in one run; --label / --before-label name the two, for
 * an A/B of a variant). SESSIONKIT_DIST=DIR measures another checkout's build as "this" one.
 */
import http from "node:http";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { parseArgs } from "node:util";
import { Agent, Pool, fetch as undiciFetch, request } from "undici";
import got from "got";
import axios from "axios";
import { loadSessionkit, loadSessionkitFrom } from "./lib/load.js";
import { compare, compareRounds, printRoundsTable, printTable, ratioOf, startServerProcess } from "./lib/measure.js";
import { pinClient, startPeerServer, unpinClient } from "./lib/peer-server.js";

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    ms: { type: "string" },
    "client-only": { type: "boolean", default: false },
    "node-server": { type: "boolean", default: false },
    before: { type: "string" },
    "before-label": { type: "string", default: "before" },
    label: { type: "string", default: "after" },
    concurrency: { type: "string", default: "1,64" },
  },
});
const quick = opts.quick;
const ROUNDS = Number(opts.rounds ?? (quick ? 3 : 5));
const MS = Number(opts.ms ?? (quick ? 500 : 1500));
const WARMUP = quick ? 500 : 1500;
const CONCURRENCIES = opts.concurrency.split(",").map(Number);

const after = await loadSessionkit();
const before = opts.before ? await loadSessionkitFrom(opts.before) : null;
type Root = typeof after;

const REF = "undici Pool.request";
/** Row labels of this build and of the --before one. */
const A = opts.label;
const B = opts["before-label"];
/** A long idle timeout everywhere: rounds of the other clients must not close a client's idle connections. */
const IDLE = 600_000;

function sessionRows(sk: Root, url: string, c: number, prefix: string) {
  const session = new sk.Session({ maxConns: c, maxConnsPerHost: c, idleTimeout: IDLE });
  const rows: Record<string, () => Promise<unknown>> = {
    [`${prefix}sendAndRead`]: () => session.sendAndRead(new sk.Message("GET", url)),
    [`${prefix}send() as a stream`]: async () => {
      for await (const chunk of await session.send(new sk.Message("GET", url))) void chunk;
    },
    [`${prefix}session.fetch`]: async () => (await session.fetch(url)).arrayBuffer(),
  };
  return { rows, close: () => session.close() };
}

async function clientBound(): Promise<void> {
  const serverCpu = pinClient();
  const server = await startPeerServer(serverCpu);
  console.log(
    `\n# Client-bound: ${server.kind === "nginx" ? "nginx" : "raw net server (nginx not found)"} at ${server.url}` +
      (serverCpu === undefined ? ", unpinned" : `, client on CPU 0, server on CPU ${serverCpu}`) +
      `; ${ROUNDS} rounds × ${MS} ms, warm-up ${WARMUP} ms per client`,
  );
  let expected = 0;
  const stats0 = await server.stats();
  try {
    for (const c of CONCURRENCIES) {
      const pool = new Pool(server.origin, { connections: c, pipelining: 1, keepAliveTimeout: IDLE, keepAliveMaxTimeout: IDLE });
      const fetchAgent = new Agent({ connections: c, pipelining: 1, keepAliveTimeout: IDLE, keepAliveMaxTimeout: IDLE });
      const ours = sessionRows(after, server.url, c, before ? `${A}: ` : "");
      const theirs = before ? sessionRows(before, server.url, c, `${B}: `) : null;
      const contenders: Record<string, () => Promise<unknown>> = {
        ...ours.rows,
        ...theirs?.rows,
        [REF]: async () => (await pool.request({ path: "/ok", method: "GET" })).body.arrayBuffer(),
        "undici fetch": async () => (await undiciFetch(server.url, { dispatcher: fetchAgent })).arrayBuffer(),
      };
      const clients = 3 + (theirs ? 1 : 0); // sessions (one each) + pool + fetch agent
      expected += c * clients;
      const results = await compareRounds(contenders, {
        concurrency: c,
        ms: MS,
        rounds: ROUNDS,
        warmupMs: WARMUP,
        warmupRequests: quick ? 2000 : 5000,
      });
      printRoundsTable(`client-bound, concurrency ${c}, ${c} connection(s) per client`, results, REF);
      const p = before ? `${A}: ` : "";
      const f = ratioOf(results, `${p}session.fetch`, "undici fetch");
      console.log(`${p}session.fetch / undici fetch: ${f.rps.toFixed(2)}× req/s, ${f.cpu.toFixed(2)}× CPU per request`);
      if (before) {
        for (const row of ["sendAndRead", "send() as a stream", "session.fetch"]) {
          const r = ratioOf(results, `${A}: ${row}`, `${B}: ${row}`);
          console.log(`${A} / ${B}, ${row}: ${r.rps.toFixed(2)}× req/s, ${r.cpu.toFixed(2)}× CPU per request`);
        }
      }
      await ours.close();
      await theirs?.close();
      await pool.close();
      await fetchAgent.close();
    }
    const stats1 = await server.stats();
    // Each probe of nginx's status is one connection and one request of its own.
    const probe = server.kind === "nginx" ? 1 : 0;
    const accepted = stats1.accepted - stats0.accepted - probe;
    const requests = stats1.requests - stats0.requests - probe;
    console.log(
      `\nserver accepted ${accepted} connections for ${expected} expected (${accepted === expected ? "every client kept its connections" : "some client reconnected"}); ` +
        `server CPU ${((stats1.cpuUs - stats0.cpuUs) / requests).toFixed(1)} µs per request over ${requests} requests (warm-ups included)`,
    );
  } finally {
    await server.stop();
    if (serverCpu !== undefined) unpinClient();
  }
}

async function serverBound(concurrency: number, url: string): Promise<void> {
  const conns = concurrency;
  const agent = new Agent({ connections: conns, pipelining: 1, keepAliveTimeout: 60_000 });
  const session = new after.Session({ maxConns: conns, maxConnsPerHost: conns });
  const nodeAgent = new http.Agent({ keepAlive: true, maxSockets: conns });
  const gotClient = got.extend({ agent: { http: nodeAgent }, retry: { limit: 0 } });
  const axiosClient = axios.create({ httpAgent: nodeAgent, responseType: "arraybuffer" });
  const fetchDispatcher = new Agent({ connections: conns, pipelining: 1 });
  const medians = await compare(
    {
      "sessionkit sendAndRead": () => session.sendAndRead(new after.Message("GET", url)),
      "sessionkit fetch": async () => (await session.fetch(url)).arrayBuffer(),
      "undici request": async () => (await request(url, { dispatcher: agent })).body.arrayBuffer(),
      "global fetch": async () => (await fetch(url, { dispatcher: fetchDispatcher } as RequestInit)).arrayBuffer(),
      got: () => gotClient(url).buffer(),
      axios: () => axiosClient.get(url),
    },
    { concurrency, ms: quick ? 500 : 2000, rounds: quick ? 3 : 5, warmupMs: quick ? 1000 : 2000 },
  );
  printTable(
    `SERVER-BOUND (node:http server on the same cores), concurrency ${concurrency}, ${conns} connection(s) each`,
    medians,
    "sessionkit sendAndRead",
    ["undici request", "global fetch", "got", "axios"],
  );
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

async function spliceMemory(port: number, mib: number): Promise<void> {
  const big = `http://127.0.0.1:${port}/big?mib=${mib}`;
  const session = new after.Session();
  const ours = await rssGrowth((sink) => session.sendAndSplice(new after.Message("GET", big), sink));
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

if (!opts["node-server"]) await clientBound();
if (!opts["client-only"]) {
  const { port, child } = await startServerProcess();
  try {
    console.log("\n# Server-bound: node:http server in a child process (it saturates first; req/s measure it as much as the clients)");
    await serverBound(1, `http://127.0.0.1:${port}/`);
    await serverBound(64, `http://127.0.0.1:${port}/`);
    await spliceMemory(port, quick ? 256 : 1024);
  } finally {
    child.kill();
  }
}

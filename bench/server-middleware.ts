/**
 * Server-session benchmark: `npx tsx bench/server-middleware.ts`.
 *
 * Each target server runs in its own child process (bench/server-target.ts); this process
 * is the load generator: C keep-alive connections, each a client that keeps its session
 * cookie and sends requests back to back for a fixed time. The client is a minimal
 * HTTP/1.1 framer on node:net (see RawClient), cheap enough that even the bare server is
 * the bottleneck, not the client. Every target gets a warm-up (BENCH_WARMUP s) before the
 * measured rounds; rounds are interleaved across targets and the median requests/second
 * per target is reported, with the ratios the issue sets targets for, and how busy the
 * server and the client were.
 *
 * On a shared, busy machine wall-clock throughput swings a lot between rounds, so the
 * server's own CPU time per request is measured too (from `process.cpuUsage()` in the
 * target): its inverse, requests per CPU-second, is the throughput one core would reach
 * and is much steadier. Both are printed. Then the Redis store's round trips per request
 * are counted.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { createClient } from "redis";
import { sessionData, sessionMiddleware } from "../src/server/index.js";
import { RedisStore, type RedisLikeClient } from "../src/stores/redis.js";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Per target, before the measured rounds: long enough for the JIT to settle (0.5 s was not). */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const TARGETS = ["bare", "ours-node", "ours-express", "express-session", "ours-fastify", "fastify-session"] as const;
type Target = (typeof TARGETS)[number];

/**
 * With `taskset` and two or more cores, the servers run on core 0 and this load generator
 * on core 1. Left to the scheduler, the server and the client sometimes share a core and
 * sometimes not, which on a 2-core machine made rounds of the same target differ by 1.5×.
 */
const PIN = (() => {
  if (process.platform !== "linux" || os.availableParallelism() < 2 || process.env.BENCH_PIN === "0") return false;
  try {
    execFileSync("taskset", ["-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

async function startTarget(kind: Target): Promise<{ port: number; child: ChildProcess }> {
  const args = ["--import", "tsx", new URL("./server-target.ts", import.meta.url).pathname, kind];
  const child = PIN
    ? spawn("taskset", ["-c", "0", process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${kind} exited with ${code}`)));
  });
  return { port, child };
}

interface Sample {
  rps: number;
  /** Server CPU microseconds per request. */
  cpuPerRequest: number;
  /** Share of the wall time the server / this load generator were on a CPU (1 = one core). */
  serverBusy: number;
  loadBusy: number;
}

/**
 * One keep-alive HTTP/1.1 connection that sends GET requests one at a time and keeps the
 * session cookie it is given, like a browser tab. Hand-written on `node:net` rather than
 * undici: a general-purpose client costs the load generator more CPU per request than the
 * bare server spends answering it, so on a small machine the "bare" baseline measured
 * the load generator, not the server. This one only frames responses (status line,
 * Content-Length or chunked body, Set-Cookie) and is the same for every target.
 */
class RawClient {
  readonly #socket: net.Socket;
  #buffer = "";
  #waiting: ((r: { status: number; body: string; setCookie: string[] }) => void) | undefined;
  #failed: ((error: Error) => void) | undefined;
  cookie: string | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.#buffer += chunk;
      this.#parse();
    });
    const fail = (error: Error) => this.#failed?.(error);
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed by the server")));
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  request(path: string): Promise<{ status: number; body: string; setCookie: string[] }> {
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#failed = reject;
      const cookie = this.cookie === undefined ? "" : `Cookie: ${this.cookie}\r\n`;
      this.#socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${cookie}\r\n`, "latin1");
    });
  }

  close(): void {
    this.#failed = undefined;
    this.#socket.destroy();
  }

  #parse(): void {
    const buf = this.#buffer;
    const headEnd = buf.indexOf("\r\n\r\n");
    if (headEnd === -1) return;
    const lines = buf.slice(0, headEnd).split("\r\n");
    const status = Number(lines[0].split(" ")[1]);
    let length = -1;
    let chunked = false;
    const setCookie: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(":");
      const name = lines[i].slice(0, colon).toLowerCase();
      const value = lines[i].slice(colon + 1).trim();
      if (name === "content-length") length = Number(value);
      else if (name === "transfer-encoding") chunked = value.toLowerCase().includes("chunked");
      else if (name === "set-cookie") setCookie.push(value);
    }
    let body: string;
    let end: number;
    if (chunked) {
      body = "";
      let at = headEnd + 4;
      for (;;) {
        const lineEnd = buf.indexOf("\r\n", at);
        if (lineEnd === -1) return;
        const size = parseInt(buf.slice(at, lineEnd), 16);
        if (buf.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          // No trailers are sent by the targets: the terminating chunk is "0\r\n\r\n".
          end = lineEnd + 4;
          break;
        }
        body += buf.slice(lineEnd + 2, lineEnd + 2 + size);
        at = lineEnd + 2 + size + 2;
      }
    } else {
      if (length < 0) length = 0;
      end = headEnd + 4 + length;
      if (buf.length < end) return;
      body = buf.slice(headEnd + 4, end);
    }
    this.#buffer = buf.slice(end);
    const done = this.#waiting;
    this.#waiting = undefined;
    done?.({ status, body, setCookie });
  }
}

async function serverCpu(client: RawClient): Promise<number> {
  const { body } = await client.request("/__cpu");
  const { user, system } = JSON.parse(body) as { user: number; system: number };
  return user + system;
}

/**
 * What the bare server's clients send as their cookie. Every target gets the same request
 * bytes (a browser sends its cookie whatever the handler does with it), so the ratio
 * measures the middleware, not the cost of parsing a longer request.
 */
const SESSION_SHAPED_COOKIE = `sid=${"A".repeat(43)}.${"B".repeat(43)}`;

/** Requests/second over `seconds`, with C clients that each keep their own cookie. */
async function load(port: number, seconds: number, cookie?: string): Promise<Sample> {
  const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawClient.connect(port)));
  for (const c of clients) c.cookie = cookie;
  const cpuBefore = await serverCpu(clients[0]);
  let count = 0;
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  const run = async (client: RawClient) => {
    while (Date.now() < deadline) {
      const res = await client.request("/");
      if (res.status !== 200) errors++;
      const first = res.setCookie[0];
      if (first !== undefined) client.cookie = first.split(";")[0];
      count++;
    }
  };
  const started = performance.now();
  const ownBefore = process.cpuUsage();
  await Promise.all(clients.map(run));
  const own = process.cpuUsage(ownBefore);
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = await serverCpu(clients[0]);
  for (const c of clients) c.close();
  if (errors > 0) throw new Error(`${errors} non-200 responses`);
  return {
    rps: count / elapsed,
    cpuPerRequest: (cpuAfter - cpuBefore) / count,
    serverBusy: (cpuAfter - cpuBefore) / 1e6 / elapsed,
    loadBusy: (own.user + own.system) / 1e6 / elapsed,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function throughput(): Promise<{
  rps: Record<Target, number>;
  cpu: Record<Target, number>;
  serverBusy: Record<Target, number>;
  loadBusy: Record<Target, number>;
  samples: Map<Target, Sample[]>;
}> {
  const servers = new Map<Target, { port: number; child: ChildProcess }>();
  for (const t of TARGETS) servers.set(t, await startTarget(t));
  const samples = new Map<Target, Sample[]>(TARGETS.map((t) => [t, []]));
  try {
    const cookieFor = (t: Target) => (t === "bare" ? SESSION_SHAPED_COOKIE : undefined);
    for (const t of TARGETS) await load(servers.get(t)!.port, WARMUP, cookieFor(t)); // warm-up (JIT)
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of TARGETS) samples.get(t)!.push(await load(servers.get(t)!.port, SECONDS, cookieFor(t)));
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const pick = (f: (s: Sample) => number) => Object.fromEntries(TARGETS.map((t) => [t, median(samples.get(t)!.map(f))])) as Record<Target, number>;
  return {
    rps: pick((s) => s.rps),
    cpu: pick((s) => s.cpuPerRequest),
    serverBusy: pick((s) => s.serverBusy),
    loadBusy: pick((s) => s.loadBusy),
    samples,
  };
}

/** Counts Redis round trips per request by wrapping the client the store uses. */
async function redisRoundTrips(): Promise<Record<string, number> | string> {
  const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
  const raw = createClient({ url });
  raw.on("error", () => undefined);
  try {
    await raw.connect();
  } catch {
    return `Redis not reachable at ${url}`;
  }
  let trips = 0;
  const counting = new Proxy(raw as unknown as RedisLikeClient, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || !["hGetAll", "del", "eval", "evalSha"].includes(String(prop))) return value;
      return (...args: unknown[]) => {
        trips++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const prefix = `bench-${process.pid}:`;
  // The store's Lua scripts are cached by Redis after their first use (EVALSHA); on a Redis
  // that has not seen them yet, the first call of each costs one extra round trip
  // (NOSCRIPT, then EVAL). Warm them on a throwaway store so the counts show steady state.
  {
    const warm = new RedisStore({ client: raw as unknown as RedisLikeClient, prefix });
    await warm.create("warm-up", { data: { n: 0 }, createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
    await warm.update("warm-up", { set: { n: 1 }, delete: [] }, Date.now() + 60_000);
    await warm.touch("warm-up", Date.now() + 60_000);
    await warm.destroy("warm-up");
  }
  const store = new RedisStore({ client: counting, prefix });
  const mw = sessionMiddleware({ secret: "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz", store });
  const server = http.createServer(
    mw.node((req, res) => {
      const s = sessionData(req);
      if (req.url === "/write") s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
      else void s.get("n");
      res.end("ok");
    }),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let cookie = "";
  const measure = async (path: string) => {
    const before = trips;
    const res = await fetch(base + path, { headers: cookie ? { cookie } : {} });
    await res.text();
    const set = res.headers.getSetCookie()[0];
    if (set !== undefined) cookie = set.split(";")[0];
    return trips - before;
  };
  const result = {
    "first request, no cookie, writes (create)": await measure("/write"),
    "known session, writes one key (get + patch)": await measure("/write"),
    "known session, reads only (get)": await measure("/read"),
    "known session, reads only, again": await measure("/read"),
  };
  server.closeAllConnections();
  server.close();
  for await (const keys of raw.scanIterator({ MATCH: `${prefix}*` })) if (keys.length > 0) await raw.del(keys);
  await raw.close();
  return result;
}

const { rps, cpu, serverBusy, loadBusy, samples } = await throughput();
const cap = Object.fromEntries(TARGETS.map((t) => [t, 1e6 / cpu[t]])) as Record<Target, number>;
const fmt = (n: number) => n.toFixed(0).padStart(8);
console.log(
  `\nMedian of ${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} keep-alive clients with cookies` +
    (PIN ? "; servers on core 0, load generator on core 1" : ""),
);
// "busy" near 100% for the server and well below for the load generator means the server
// was the bottleneck, as intended; the other way round means the wall req/s measured the client.
console.log(
  `  ${"target".padEnd(16)} ${"req/s".padStart(8)} ${"CPU us/req".padStart(11)} ${"req/CPU-s".padStart(10)} ${"server busy".padStart(12)} ${"client busy".padStart(12)}`,
);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`.padStart(12);
for (const t of TARGETS) {
  console.log(
    `  ${t.padEnd(16)} ${fmt(rps[t])} ${cpu[t].toFixed(1).padStart(11)} ${fmt(cap[t]).padStart(10)} ${pct(serverBusy[t])} ${pct(loadBusy[t])}`,
  );
}
const ratio = (a: Target, b: Target) => `${(rps[a] / rps[b]).toFixed(2)}x wall, ${(cap[a] / cap[b]).toFixed(2)}x per CPU-second`;
console.log("\nRatios");
console.log(`  ours-node / bare (target >= 0.8)                  ${ratio("ours-node", "bare")}`);
console.log(`  ours-node / express-session (target >= 1.5)       ${ratio("ours-node", "express-session")}`);
console.log(`  ours-express / express-session (same framework)   ${ratio("ours-express", "express-session")}`);
console.log(`  ours-fastify / @fastify/session (same framework)  ${ratio("ours-fastify", "fastify-session")}`);
// bare and ours-node run back to back in every round, so the ratio within a round compares
// them under the same machine conditions; its median is steadier than a ratio of medians.
const perRound = (a: Target, b: Target, f: (s: Sample) => number) => samples.get(a)!.map((s, i) => f(s) / f(samples.get(b)![i]));
const wallRounds = perRound("ours-node", "bare", (s) => s.rps);
const cpuRounds = perRound("bare", "ours-node", (s) => s.cpuPerRequest);
console.log(
  `  ours-node / bare, median of per-round ratios       ${median(wallRounds).toFixed(2)}x wall, ${median(cpuRounds).toFixed(2)}x per CPU-second` +
    ` (rounds: ${wallRounds.map((x) => x.toFixed(2)).join(" ")})`,
);
const trips = await redisRoundTrips();
console.log("\nRedis round trips per request");
if (typeof trips === "string") console.log(`  skipped: ${trips}`);
else for (const [k, v] of Object.entries(trips)) console.log(`  ${k.padEnd(46)} ${v}`);

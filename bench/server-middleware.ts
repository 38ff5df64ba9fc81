/**
 * Server-session benchmark: `npx tsx bench/server-middleware.ts`.
 *
 * Each target server runs in its own child process (bench/server-target.ts); this process
 * is the load generator: C keep-alive connections, each a client that keeps its session
 * cookie and sends requests back to back for a fixed time. Rounds are interleaved across
 * targets and the median requests/second per target is reported, with the ratios the
 * issue sets targets for.
 *
 * On a shared, busy machine wall-clock throughput swings a lot between rounds, so the
 * server's own CPU time per request is measured too (from `process.cpuUsage()` in the
 * target): its inverse, requests per CPU-second, is the throughput one core would reach
 * and is much steadier. Both are printed. Then the Redis store's round trips per request
 * are counted.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { createClient } from "redis";
import { sessionData, sessionMiddleware } from "../src/server/index.js";
import { RedisStore, type RedisLikeClient } from "../src/stores/redis.js";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGETS = ["bare", "ours-node", "ours-express", "express-session", "ours-fastify", "fastify-session"] as const;
type Target = (typeof TARGETS)[number];

async function startTarget(kind: Target): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./server-target.ts", import.meta.url).pathname, kind], {
    stdio: ["ignore", "pipe", "inherit"],
  });
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
}

async function serverCpu(pool: Pool): Promise<number> {
  const res = await pool.request({ path: "/__cpu", method: "GET" });
  const { user, system } = (await res.body.json()) as { user: number; system: number };
  return user + system;
}

/** Requests/second over `seconds`, with C clients that each keep their own cookie. */
async function load(port: number, seconds: number): Promise<Sample> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  const cpuBefore = await serverCpu(pool);
  let count = 0;
  let errors = 0;
  const deadline = Date.now() + seconds * 1000;
  const client = async () => {
    let cookie: string | undefined;
    while (Date.now() < deadline) {
      const res = await pool.request({ path: "/", method: "GET", headers: cookie ? { cookie } : {} });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
      const set = res.headers["set-cookie"];
      const first = Array.isArray(set) ? set[0] : set;
      if (first !== undefined) cookie = first.split(";")[0];
      count++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = await serverCpu(pool);
  await pool.close();
  if (errors > 0) throw new Error(`${errors} non-200 responses`);
  return { rps: count / elapsed, cpuPerRequest: (cpuAfter - cpuBefore) / count };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function throughput(): Promise<{ rps: Record<Target, number>; cpu: Record<Target, number> }> {
  const servers = new Map<Target, { port: number; child: ChildProcess }>();
  for (const t of TARGETS) servers.set(t, await startTarget(t));
  const samples = new Map<Target, Sample[]>(TARGETS.map((t) => [t, []]));
  try {
    for (const t of TARGETS) await load(servers.get(t)!.port, 0.5); // warm-up (JIT)
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of TARGETS) samples.get(t)!.push(await load(servers.get(t)!.port, SECONDS));
    }
  } finally {
    for (const { child } of servers.values()) child.kill();
  }
  const pick = (f: (s: Sample) => number) =>
    Object.fromEntries(TARGETS.map((t) => [t, median(samples.get(t)!.map(f))])) as Record<Target, number>;
  return { rps: pick((s) => s.rps), cpu: pick((s) => s.cpuPerRequest) };
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
  const store = new RedisStore({ client: counting, prefix });
  const mw = sessionMiddleware({ secret: "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz", store });
  const server = http.createServer(mw.node((req, res) => {
    const s = sessionData(req);
    if (req.url === "/write") s.set("n", ((s.get("n") as number | undefined) ?? 0) + 1);
    else void s.get("n");
    res.end("ok");
  }));
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

const { rps, cpu } = await throughput();
const cap = Object.fromEntries(TARGETS.map((t) => [t, 1e6 / cpu[t]])) as Record<Target, number>;
const fmt = (n: number) => n.toFixed(0).padStart(8);
console.log(`\nMedian of ${ROUNDS} rounds x ${SECONDS}s, ${CONNECTIONS} keep-alive clients with cookies`);
console.log(`  ${"target".padEnd(16)} ${"req/s".padStart(8)} ${"CPU us/req".padStart(11)} ${"req/CPU-s".padStart(10)}`);
for (const t of TARGETS) console.log(`  ${t.padEnd(16)} ${fmt(rps[t])} ${cpu[t].toFixed(1).padStart(11)} ${fmt(cap[t]).padStart(10)}`);
const ratio = (a: Target, b: Target) => `${(rps[a] / rps[b]).toFixed(2)}x wall, ${(cap[a] / cap[b]).toFixed(2)}x per CPU-second`;
console.log("\nRatios");
console.log(`  ours-node / bare (target >= 0.8)                  ${ratio("ours-node", "bare")}`);
console.log(`  ours-node / express-session (target >= 1.5)       ${ratio("ours-node", "express-session")}`);
console.log(`  ours-express / express-session (same framework)   ${ratio("ours-express", "express-session")}`);
console.log(`  ours-fastify / @fastify/session (same framework)  ${ratio("ours-fastify", "fastify-session")}`);
const trips = await redisRoundTrips();
console.log("\nRedis round trips per request");
if (typeof trips === "string") console.log(`  skipped: ${trips}`);
else for (const [k, v] of Object.entries(trips)) console.log(`  ${k.padEnd(46)} ${v}`);

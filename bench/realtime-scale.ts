/**
 * Realtime at scale (issue 16): three RealtimeServer processes on one Redis holding
 * 10,000 concurrent sessions, against a plain `ws` server holding as many sockets.
 *
 *   - memory per session on the server (heap after a full GC, and RSS), ours and ws;
 *   - fan-out: pushes delivered per second when one call reaches every session —
 *     `sendToFilter` in the cluster (through Redis: every frame numbered and stored for
 *     replay, then routed to the node holding the session), `sendToFilter` on one
 *     standalone server, and the `ws` broadcast loop (serialise once, `send` to each);
 *   - resume after a node is killed (SIGKILL): how long until each of its sessions has
 *     moved to a surviving node, with nothing lost (clients count every push).
 *
 * Clients run in their own processes (RealtimeSession over one shared HTTP Session each).
 * Needs Redis (REDIS_URL, default redis://127.0.0.1:6379).
 *
 *   npx tsx bench/realtime-scale.ts [--sessions 10000] [--clients 2] [--pushes 5]
 */
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createClient } from "redis";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "10000" },
    clients: { type: "string", default: "2" },
    pushes: { type: "string", default: "5" },
  },
});
const SESSIONS = Number(values.sessions);
const CLIENT_PROCS = Number(values.clients);
const PUSHES = Number(values.pushes);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const PREFIX = `sessionkit:bench:rtscale:${randomBytes(4).toString("hex")}:`;

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

type Reply = Record<string, number> & { times?: number[]; reasons?: Record<string, number> };

function start(file: string, env: Record<string, string>): ChildProcess {
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    execArgv: ["--import", "tsx", "--expose-gc", "--max-old-space-size=4096"],
    env: { ...process.env, ...env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Sends a command and resolves to the child's next message. */
function ask(child: ChildProcess, msg: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`child exited (${code})`));
    child.once("message", (m) => {
      child.off("exit", onExit);
      resolve(m as Reply);
    });
    child.once("exit", onExit);
    if (msg !== undefined) child.send(msg as object);
  });
}

async function startNode(mode: string): Promise<{ child: ChildProcess; url: string }> {
  const child = start("./realtime-scale-node.ts", { MODE: mode, REDIS_URL, PREFIX });
  const { port } = await ask(child, undefined);
  return { child, url: mode === "ws" ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}/realtime` };
}

async function startClients(mode: string, urls: string[]): Promise<ChildProcess[]> {
  const per = Math.ceil(SESSIONS / CLIENT_PROCS);
  const procs = Array.from({ length: CLIENT_PROCS }, (_, i) =>
    start("./realtime-scale-clients.ts", {
      MODE: mode,
      URLS: urls.join(","),
      COUNT: String(Math.min(per, SESSIONS - i * per)),
      OFFSET: String(i * per),
    }),
  );
  await Promise.all(procs.map((p) => ask(p, undefined)));
  return procs;
}

async function totals(clients: ChildProcess[]) {
  const r = await Promise.all(clients.map((c) => ask(c, { cmd: "count" })));
  return {
    received: r.reduce((a, x) => a + x.received!, 0),
    connected: r.reduce((a, x) => a + x.connected!, 0),
    recovered: r.reduce((a, x) => a + x.recovered!, 0),
    closed: r.reduce((a, x) => a + x.closed!, 0),
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, state?: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}${state ? ` (${state()})` : ""}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

interface PhaseResult {
  openMs: number;
  heapPerSession: number;
  rssPerSession: number;
  fanoutRate: number;
  fanoutIssueMs: number;
}

/** Opens every session, reads the servers' memory, then fans PUSHES pushes out to all. */
async function phase(mode: "cluster" | "standalone" | "ws", nodes: Array<{ child: ChildProcess; url: string }>) {
  const before = await Promise.all(nodes.map((n) => ask(n.child, { cmd: "mem" })));
  const clients = await startClients(
    mode === "ws" ? "ws" : "rt",
    nodes.map((n) => n.url),
  );
  const opened = await Promise.all(clients.map((c) => ask(c, { cmd: "open" })));
  const openMs = Math.max(...opened.map((o) => o.ms!));
  const failed = sum(opened.map((o) => o.failed ?? 0));
  if (failed > 0) throw new Error(`${failed} sessions could not be opened`);
  await new Promise((r) => setTimeout(r, 1000));
  const after = await Promise.all(nodes.map((n) => ask(n.child, { cmd: "mem" })));
  const held = sum(after.map((a) => a.sessions!));
  const heapPerSession = sum(after.map((a, i) => a.heap! - before[i]!.heap!)) / held;
  const rssPerSession = sum(after.map((a, i) => a.rss! - before[i]!.rss!)) / held;

  const base = (await totals(clients)).received;
  const target = base + PUSHES * SESSIONS;
  const t0 = performance.now();
  const issued = ask(nodes[0]!.child, { cmd: "fanout", n: PUSHES });
  let last = await totals(clients);
  await until(
    async () => {
      last = await totals(clients);
      return last.received >= target;
    },
    600_000,
    "fan-out delivery",
    () => `received ${last.received - base} of ${target - base}; connected ${last.connected}, closed ${last.closed}, recovered ${last.recovered}`,
  );
  const fanoutMs = performance.now() - t0;
  const { ms: fanoutIssueMs } = await issued;
  const result: PhaseResult = {
    openMs,
    heapPerSession,
    rssPerSession,
    fanoutRate: (PUSHES * SESSIONS) / (fanoutMs / 1000),
    fanoutIssueMs: fanoutIssueMs!,
  };
  console.log(
    `${mode.padEnd(10)} held ${held} | open ${(openMs / 1000).toFixed(1)} s | heap/session ${kib(heapPerSession)} | rss/session ${kib(rssPerSession)} | ` +
      `fan-out ${Math.round(result.fanoutRate)} deliveries/s (${PUSHES} × ${SESSIONS} in ${Math.round(fanoutMs)} ms, call took ${Math.round(fanoutIssueMs!)} ms)`,
  );
  return { result, clients };
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  for (const p of procs) p.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 500));
}

console.log(`realtime scale: ${SESSIONS} sessions, ${CLIENT_PROCS} client processes, ${PUSHES} pushes per fan-out; node ${process.version}`);

// ── the cluster: three nodes on one Redis ──────────────────────────────────────────────
const nodes = await Promise.all([0, 1, 2].map(() => startNode("cluster")));
const cluster = await phase("cluster", nodes);

// Kill the node the fan-out came from; its sessions resume on the other two.
const victimHeld = (await ask(nodes[0]!.child, { cmd: "mem" })).sessions!;
const before = await totals(cluster.clients);
const killedAt = Date.now();
nodes[0]!.child.kill("SIGKILL");
// Every session of the killed node either resumes elsewhere or (it must not) closes.
await until(
  async () => {
    const t = await totals(cluster.clients);
    return t.recovered - before.recovered + t.closed - before.closed >= victimHeld;
  },
  600_000,
  "every session to resume",
);
const recovery = await Promise.all(cluster.clients.map((c) => ask(c, { cmd: "recovery", since: killedAt })));
const times = recovery.flatMap((r) => r.times!).filter((t) => t >= 0);
const reasons: Record<string, number> = {};
for (const r of recovery) for (const [k, v] of Object.entries(r.reasons ?? {})) reasons[k] = (reasons[k] ?? 0) + v;
const afterKill = await totals(cluster.clients);
const survivors = await Promise.all(nodes.slice(1).map((n) => ask(n.child, { cmd: "mem" })));
const lostSessions = afterKill.closed - before.closed;
console.log(
  `resume     ${victimHeld} sessions of the killed node: ${times.length} moved, median ${pct(times, 50)} ms, p95 ${pct(times, 95)} ms, max ${pct(times, 100)} ms ` +
    `after the kill; closed instead: ${lostSessions} ${JSON.stringify(reasons)}; survivors hold ${survivors.map((s) => s.sessions).join(" + ")}`,
);
// One more fan-out after the move: every live session must still get every push.
const base = afterKill.received;
let last = afterKill;
const t1 = performance.now();
await ask(nodes[1]!.child, { cmd: "fanout", n: 1 });
await until(
  async () => {
    last = await totals(cluster.clients);
    return last.received >= base + SESSIONS - lostSessions;
  },
  600_000,
  "fan-out after the move",
  () => `received ${last.received - base} of ${SESSIONS - lostSessions}; connected ${last.connected}, closed ${last.closed}`,
);
console.log(
  `after move a push from a surviving node reached all ${SESSIONS - lostSessions} live sessions in ${Math.round(performance.now() - t1)} ms`,
);
await stopAll([...nodes.slice(1).map((n) => n.child), ...cluster.clients]);

// ── one standalone server (no Redis) ───────────────────────────────────────────────────
const alone = await startNode("standalone");
const standalone = await phase("standalone", [alone]);
await stopAll([alone.child, ...standalone.clients]);

// ── plain ws ───────────────────────────────────────────────────────────────────────────
const raw = await startNode("ws");
const ws = await phase("ws", [raw]);
await stopAll([raw.child, ...ws.clients]);

const r = (a: number, b: number) => (a / b).toFixed(2);
console.log(
  `ratios ours/ws: heap per session cluster ${r(cluster.result.heapPerSession, ws.result.heapPerSession)}, standalone ${r(standalone.result.heapPerSession, ws.result.heapPerSession)}; ` +
    `fan-out rate cluster ${r(cluster.result.fanoutRate, ws.result.fanoutRate)}, standalone ${r(standalone.result.fanoutRate, ws.result.fanoutRate)}`,
);

const redis = createClient({ url: REDIS_URL });
await redis.connect();
for await (const keys of redis.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) if (keys.length) await redis.del(keys);
await redis.close();
process.exit(0);

/**
 * Credential fleet benchmark: 1,000 concurrent XRPC requests on an expired access token,
 * made by 4 processes × 250 that share one saved session through a coordinator (SQLite
 * file, Redis), against the same 1,000 made by one process alone (no coordinator: today's
 * single flight). Every burst includes exactly one refresh call for everyone (checked on
 * the server), so this measures what coordinating the refresh across processes costs
 * against what spreading the requests over processes gains. A fourth case, the same 4
 * processes with a valid token (no refresh, no coordinator), isolates the coordination:
 * fleet-with-refresh / fleet-valid is what the shared refresh costs the fleet.
 *
 *   npx tsx bench/login-fleet.ts [--rounds 10] [--burst 1000] [--processes 4] [--quick]
 *
 * Method (as bench/login-refresh.ts): the PDS runs in its own process
 * (bench/login-pds-process.ts: real HS256 JWTs, single-use refresh tokens); the client
 * processes are test/login/helpers/fleet-child.ts, forked once and set up afresh before
 * each burst (a new credential session on a new saved session with an expired access token,
 * untimed; the HTTP connections stay warm); the single-process case runs in one of those
 * same child processes, so every case pays the same IPC and tsx costs. The cases are
 * interleaved with the order rotating every round. A burst is timed in the parent from
 * "go" to the last process's answer. Reported: the median req/s per case and the ratios
 * fleet / single (medians, and the median of per-round ratios, which cancels load drift),
 * and the client CPU time per request summed over the processes of a case (what the
 * coordination costs, far less sensitive than req/s to how busy a shared machine is).
 */
import { fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { newSpec, tmpDir, type BackendSpec } from "../test/login/helpers/fleet-backends.js";
import { startFleet, type FleetChild } from "../test/login/helpers/fleet-runner.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string" },
    burst: { type: "string", default: "1000" },
    processes: { type: "string", default: "4" },
    quick: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(values.rounds ?? (values.quick ? 3 : 10));
const BURST = Number(values.burst);
const PROCESSES = Number(values.processes);
for (const [k, v] of Object.entries({ rounds: ROUNDS, burst: BURST, processes: PROCESSES })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
}
if (BURST % PROCESSES !== 0) throw new Error("--burst must be a multiple of --processes");
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

// The PDS in its own process, as a real one would be.
const pdsChild = fork(fileURLToPath(new URL("./login-pds-process.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"] });
const ready = await new Promise<{ entryway: string; pds: string }>((resolve) => pdsChild.once("message", resolve as (m: unknown) => void));
let nextId = 0;
function ask<T>(cmd: string, extra: Record<string, unknown> = {}): Promise<T> {
  const id = ++nextId;
  return new Promise((resolve) => {
    const onMessage = (m: { id?: number; value: T }) => {
      if (m.id !== id) return;
      pdsChild.off("message", onMessage);
      resolve(m.value);
    };
    pdsChild.on("message", onMessage);
    pdsChild.send({ id, cmd, ...extra });
  });
}
interface Stats {
  refreshes: number;
  requests: number;
  authorized: number;
}

const tmp = tmpDir();
const idle = {
  backend: null,
  key: "idle",
  entryway: ready.entryway,
  leaseMs: 10_000,
  sessionString: await ask<string>("issue", { expiredAccess: false }),
};
const fleet: FleetChild[] = await startFleet(PROCESSES, idle);

/** One burst of BURST requests over `procs` processes, checked on the server: req/s and CPU µs per request. */
async function burst(name: string, procs: FleetChild[], backend: BackendSpec | null, expired = true): Promise<{ rps: number; cpuUs: number }> {
  const sessionString = await ask<string>("issue", { expiredAccess: expired });
  const setup = { backend, key: `bench:${randomUUID()}`, entryway: ready.entryway, leaseMs: 10_000, sessionString };
  await Promise.all(procs.map((c) => c.setup(setup)));
  const before = await ask<Stats>("stats");
  const start = performance.now();
  const results = await Promise.all(procs.map((c) => c.burst(BURST / procs.length)));
  const ms = performance.now() - start;
  const after = await ask<Stats>("stats");
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const d = {
    refreshes: after.refreshes - before.refreshes,
    requests: after.requests - before.requests,
    authorized: after.authorized - before.authorized,
  };
  const refreshes = expired ? 1 : 0;
  if (ok !== BURST || d.refreshes !== refreshes || d.requests !== BURST || d.authorized !== BURST) {
    throw new Error(
      `${name}: expected ${BURST} successes with ${refreshes} refresh, got ${ok} and ${JSON.stringify(d)}; ${JSON.stringify(results.map((r) => r.errors))}`,
    );
  }
  const cpuMs = results.reduce((n, r) => n + r.cpuMs, 0);
  return { rps: BURST / (ms / 1000), cpuUs: (cpuMs * 1000) / BURST };
}

const SINGLE = "1 process × 1000, no coordinator";
const SQLITE = `${PROCESSES} processes × ${BURST / PROCESSES}, SQLite coordinator`;
const REDIS = `${PROCESSES} processes × ${BURST / PROCESSES}, Redis coordinator`;
const VALID = `${PROCESSES} processes × ${BURST / PROCESSES}, valid token (no refresh, no coordinator)`;
// One backend per case for the whole run (each process keeps its coordinator connected, as
// an application would); every burst uses a new key in it, i.e. a new shared session.
const sqliteSpec = newSpec("sqlite", tmp.dir);
const redisSpec = newSpec("redis", tmp.dir);
const cases: Record<string, () => Promise<{ rps: number; cpuUs: number }>> = {
  [SINGLE]: () => burst(SINGLE, fleet.slice(0, 1), null),
  [SQLITE]: () => burst(SQLITE, fleet, sqliteSpec),
  [REDIS]: () => burst(REDIS, fleet, redisSpec),
  // The fleet without any refresh: what 4 processes do with no coordination to pay for.
  [VALID]: () => burst(VALID, fleet, null, false),
};
const names = Object.keys(cases);
const rps: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
const cpuUs: Record<string, number[]> = Object.fromEntries(names.map((k) => [k, []]));
for (let w = 0; w < 2; w++) for (const fn of Object.values(cases)) await fn(); // warm-up (JIT, connections)
for (let r = 0; r < ROUNDS; r++) {
  const order = names.map((_, i) => names[(i + r) % names.length]!);
  for (const name of order) {
    const one = await cases[name]!();
    rps[name]!.push(one.rps);
    cpuUs[name]!.push(one.cpuUs);
  }
}
const med = Object.fromEntries(names.map((k) => [k, median(rps[k]!)]));
const perRound = (k: string) => median(rps[k]!.map((v, i) => v / rps[SINGLE]![i]!));

console.log(
  `\n## login-fleet: bursts of ${BURST} concurrent requests on an expired token (1 refresh each, except the valid-token case), ${ROUNDS} rounds`,
);
console.log(
  "| case | req/s (median) | ratio to 1 process (medians) | ratio (median of per-round ratios) | client CPU µs/request, all processes (median) |",
);
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const k of names) {
  console.log(
    `| ${k} | ${med[k]!.toFixed(0)} | ${(med[k]! / med[SINGLE]!).toFixed(3)}× | ${perRound(k).toFixed(3)}× | ${median(cpuUs[k]!).toFixed(0)} |`,
  );
}
const vsValid = (k: string) => median(rps[k]!.map((v, i) => v / rps[VALID]![i]!));
console.log(
  `fleet with its one refresh / fleet with a valid token (median of per-round ratios): SQLite ${vsValid(SQLITE).toFixed(3)}×, Redis ${vsValid(REDIS).toFixed(3)}×`,
);

await Promise.all(fleet.map((c) => c.close()));
const exited = new Promise((resolve) => pdsChild.once("exit", resolve));
pdsChild.send({ id: ++nextId, cmd: "close" });
await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
pdsChild.kill();
tmp.cleanup();

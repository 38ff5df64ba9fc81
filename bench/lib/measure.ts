/** Shared benchmark helpers: fixed-duration loops at a given concurrency, medians, ratios. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export async function startServerProcess(): Promise<{ port: number; child: ChildProcess }> {
  const child = fork(fileURLToPath(new URL("./server-process.mjs", import.meta.url)), [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m: { port: number }) => resolve(m.port));
    child.once("error", reject);
  });
  return { port, child };
}

/** Runs `fn` from `concurrency` workers for `ms` milliseconds; returns requests per second. */
export async function throughput(fn: () => Promise<unknown>, concurrency: number, ms: number): Promise<number> {
  let count = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await fn();
      count++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return count / ((performance.now() - start) / 1000);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Measures every contender in interleaved rounds (A B C, A B C, …) so machine noise hits
 * them alike, and returns the median req/s of each.
 */
export async function compare(
  contenders: Record<string, () => Promise<unknown>>,
  opts: { concurrency: number; ms: number; rounds: number; warmupMs?: number },
): Promise<Record<string, number>> {
  const results: Record<string, number[]> = {};
  for (const [name, fn] of Object.entries(contenders)) {
    results[name] = [];
    await throughput(fn, opts.concurrency, opts.warmupMs ?? 300);
  }
  for (let r = 0; r < opts.rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) results[name].push(await throughput(fn, opts.concurrency, opts.ms));
  }
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
}

export function printTable(title: string, medians: Record<string, number>, reference: string, peers: string[]): void {
  console.log(`\n## ${title}`);
  console.log("| client | req/s (median) |");
  console.log("| --- | ---: |");
  for (const [k, v] of Object.entries(medians)) console.log(`| ${k} | ${v.toFixed(0)} |`);
  for (const p of peers) console.log(`ratio ${reference} / ${p}: ${(medians[reference] / medians[p]).toFixed(2)}×`);
}

/** One measured round: requests per second and the client process's CPU µs per request. */
export interface Round {
  rps: number;
  cpuUs: number;
  requests: number;
}

/**
 * Like `throughput`, and also the CPU this process spent (`process.cpuUsage()`, user +
 * system, every thread: GC and libuv count) divided by the requests it completed.
 */
export async function measureRound(fn: () => Promise<unknown>, concurrency: number, ms: number): Promise<Round> {
  let count = 0;
  const end = performance.now() + ms;
  const worker = async () => {
    while (performance.now() < end) {
      await fn();
      count++;
    }
  };
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { rps: count / secs, cpuUs: (cpu.user + cpu.system) / count, requests: count };
}

/**
 * Measures every contender in `rounds` interleaved rounds after a warm-up each; the order
 * rotates every round (A B C, B C A, …) so no contender always runs first or after the
 * same one. Returns every round of every contender, in contender order. The warm-up runs
 * for `warmupMs` and at least `warmupRequests` requests (up to 10 × warmupMs): on a busy
 * machine a fixed time alone can leave the JIT cold.
 */
export async function compareRounds(
  contenders: Record<string, () => Promise<unknown>>,
  opts: { concurrency: number; ms: number; rounds: number; warmupMs: number; warmupRequests?: number },
): Promise<Record<string, Round[]>> {
  const names = Object.keys(contenders);
  const results: Record<string, Round[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const name of names) {
    const t0 = performance.now();
    let n = (await measureRound(contenders[name], opts.concurrency, opts.warmupMs)).requests;
    while (n < (opts.warmupRequests ?? 0) && performance.now() - t0 < 10 * opts.warmupMs) {
      n += (await measureRound(contenders[name], opts.concurrency, opts.warmupMs / 2)).requests;
    }
  }
  for (let r = 0; r < opts.rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      results[name].push(await measureRound(contenders[name], opts.concurrency, opts.ms));
    }
  }
  return results;
}

/**
 * Prints median req/s and CPU µs/request per contender, and against `reference`: the ratio
 * of the medians and the median of per-round ratios (each round's pair ran minutes apart at
 * most, so that one cancels slow load drift on a shared machine).
 */
export function printRoundsTable(title: string, results: Record<string, Round[]>, reference: string): void {
  const ref = results[reference];
  const refRps = median(ref.map((x) => x.rps));
  const refCpu = median(ref.map((x) => x.cpuUs));
  console.log(`\n## ${title}`);
  console.log(`| client | req/s | CPU µs/req | req/s ÷ ${reference} | CPU ÷ ${reference} | per-round req/s ratio | per-round CPU ratio |`);
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, rounds] of Object.entries(results)) {
    const rps = median(rounds.map((x) => x.rps));
    const cpu = median(rounds.map((x) => x.cpuUs));
    const prRps = median(rounds.map((x, i) => x.rps / ref[i].rps));
    const prCpu = median(rounds.map((x, i) => x.cpuUs / ref[i].cpuUs));
    console.log(
      `| ${name} | ${rps.toFixed(0)} | ${cpu.toFixed(1)} | ${(rps / refRps).toFixed(2)}× | ${(cpu / refCpu).toFixed(2)}× | ${prRps.toFixed(2)}× | ${prCpu.toFixed(2)}× |`,
    );
  }
}

/** Ratio of median req/s and of median CPU µs/request, a over b. */
export function ratioOf(results: Record<string, Round[]>, a: string, b: string): { rps: number; cpu: number } {
  const m = (n: string, k: keyof Round) => median(results[n].map((x) => x[k]));
  return { rps: m(a, "rps") / m(b, "rps"), cpu: m(a, "cpuUs") / m(b, "cpuUs") };
}

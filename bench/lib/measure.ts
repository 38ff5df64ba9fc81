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

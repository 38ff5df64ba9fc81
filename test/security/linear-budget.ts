/**
 * A linear-time budget measured in the same run, so it holds on a slow or busy machine and
 * on a fast laptop alike: the parser's time on a benign input of the same size, times a
 * generous factor, plus a floor for timer and GC noise. Benign and adversarial runs are
 * interleaved and an input passes when any of its attempts is within budget, so a burst of
 * load on a shared machine does not fail it; a quadratic parser fails every attempt by
 * orders of magnitude (the old MIME parser took 17-39 s on 100 KB where the budget is tens
 * of milliseconds).
 */
import type { ParserCase } from "./parser-cases.js";

export const SIZE = 100 * 1024;
export const FACTOR = 10;
export const FLOOR_MS = 50;
const ATTEMPTS = 7;

async function timeOnce(run: (input: string) => unknown, input: string): Promise<number> {
  const t0 = performance.now();
  const r = run(input);
  if (r instanceof Promise) await r;
  return performance.now() - t0;
}

export interface Verdict {
  input: string;
  size: number;
  /** The adversarial time of the best attempt. */
  ms: number;
  budgetMs: number;
  benignMs: number;
  within: boolean;
}

/**
 * Times every adversarial input of `c` at `size` (and just under the parser's cap when it
 * has one) against the benign input of the same size.
 */
export async function measureCase(c: ParserCase, size = SIZE): Promise<Verdict[]> {
  const out: Verdict[] = [];
  // Just under the cap (the generators add a few characters of prefix), so the parsing
  // itself is timed and not only the length check.
  const sizes = c.cap !== undefined && c.cap < size ? [size, c.cap - 64] : [size];
  for (const n of sizes) {
    const benign = c.benign(n);
    for (let i = 0; i < 3; i++) await timeOnce(c.run, benign); // warm up the parser's code paths
    for (const make of c.adversarial) {
      const input = make(n);
      let best: Verdict | null = null;
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const benignMs = await timeOnce(c.run, benign);
        const ms = await timeOnce(c.run, input);
        const budgetMs = FACTOR * benignMs + FLOOR_MS;
        const v: Verdict = { input: describe(input), size: input.length, ms, budgetMs, benignMs, within: ms <= budgetMs };
        if (best === null || ms - budgetMs < best.ms - best.budgetMs) best = v;
        // Within budget: done. Far over (20 budgets): no reason to wait 5 x 30 s.
        if (v.within || ms > 20 * budgetMs) break;
      }
      out.push(best!);
    }
  }
  return out;
}

/** A short picture of an input for messages: its start, its length and its end. */
export function describe(input: string): string {
  const show = (s: string) => JSON.stringify(s).slice(1, -1);
  return input.length <= 40 ? show(input) : `${show(input.slice(0, 20))}…(${input.length} chars)…${show(input.slice(-12))}`;
}

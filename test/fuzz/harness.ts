/**
 * The fuzz suite's runner: fast-check, seeded (a fixed default, `FUZZ_SEED=<n>` to change
 * it), bounded in time per property (so the whole suite stays within ~20 s), every input
 * timed. A failure names the seed and the command that replays it. The property of every
 * fuzz test: the parser returns, or throws its own typed error; never another exception,
 * never a hang (an input slower than HANG_MS fails).
 */
import fc from "fast-check";

/** The default seed: fixed, so a CI failure reproduces on a laptop. */
export const DEFAULT_SEED = 0x5e55_0c12;
export const SEED = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== "" ? Number(process.env.FUZZ_SEED) | 0 : DEFAULT_SEED;
/** Scales every property's time budget and run count (bench/reliability.ts sets it higher). */
export const SCALE = Number(process.env.FUZZ_SCALE ?? "1") || 1;
/** One input taking longer than this is a hang (generous: CI machines are shared). */
export const HANG_MS = 2000;

export interface FuzzStats {
  name: string;
  runs: number;
  worstMs: number;
  totalMs: number;
}

/** Per-property figures, read by bench/reliability.ts and printed by the suite. */
export const stats: FuzzStats[] = [];

export interface FuzzOptions {
  /** Upper bound on inputs. @default 3000 */
  numRuns?: number;
  /** Wall-clock budget for the property in ms. @default 700 */
  timeMs?: number;
}

function record(name: string): { stat: FuzzStats; time: <R>(fn: () => R) => R } {
  const stat: FuzzStats = { name, runs: 0, worstMs: 0, totalMs: 0 };
  stats.push(stat);
  const note = (ms: number) => {
    stat.runs++;
    stat.totalMs += ms;
    if (ms > stat.worstMs) stat.worstMs = ms;
    if (ms > HANG_MS) throw new Error(`one input took ${ms.toFixed(0)} ms (over ${HANG_MS} ms: a hang)`);
  };
  return {
    stat,
    time: (fn) => {
      const t0 = performance.now();
      const r = fn();
      if (r instanceof Promise) return r.then((v: unknown) => (note(performance.now() - t0), v)) as never;
      note(performance.now() - t0);
      return r;
    },
  };
}

function params(o: FuzzOptions) {
  return {
    seed: SEED,
    numRuns: Math.round((o.numRuns ?? 3000) * SCALE),
    plugins: [fc.interruptAfterTimeLimit(Math.round((o.timeMs ?? 700) * SCALE))],
  };
}

function reproduce(name: string, err: unknown): Error {
  // fast-check keeps the property's own error as the cause: show it, it says what broke.
  const inner = err instanceof Error && err.cause instanceof Error ? `\nThe property's error: ${err.cause.name}: ${err.cause.message}` : "";
  const msg = (err instanceof Error ? err.message : String(err)) + inner;
  return new Error(`fuzz "${name}" failed with FUZZ_SEED=${SEED}; replay: FUZZ_SEED=${SEED} node scripts/run-tests.mjs test/fuzz\n${msg}`, {
    cause: err,
  });
}

/** Runs `check` on inputs from `arb`; `check` throws (an assertion) when the property fails. */
export function fuzz<T>(name: string, arb: fc.Arbitrary<T>, check: (value: T) => void, options: FuzzOptions = {}): FuzzStats {
  const { stat, time } = record(name);
  try {
    fc.assert(
      fc.property(arb, (v) => time(() => check(v))),
      params(options),
    );
  } catch (err) {
    throw reproduce(name, err);
  }
  return stat;
}

export async function fuzzAsync<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  check: (value: T) => Promise<void>,
  options: FuzzOptions = {},
): Promise<FuzzStats> {
  const { stat, time } = record(name);
  try {
    await fc.assert(
      fc.asyncProperty(arb, (v) => time(() => check(v))),
      params(options),
    );
  } catch (err) {
    throw reproduce(name, err);
  }
  return stat;
}

/**
 * Calls `fn`; a throw must be an instance of one of `allowed` (the parser's typed errors),
 * anything else (TypeError, RangeError, …) fails the property with the input shown.
 */
export function typedOrValue<R>(fn: () => R, allowed: ReadonlyArray<abstract new (...a: never[]) => Error>): R | Error {
  try {
    return fn();
  } catch (err) {
    if (allowed.some((c) => err instanceof c)) return err as Error;
    throw new Error(`untyped exception: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
  }
}

/** Prints a one-line summary per property (inputs tried, worst time per input). */
export function summary(): string {
  return stats.map((s) => `${s.name}: ${s.runs} inputs, worst ${s.worstMs.toFixed(2)} ms`).join("\n");
}

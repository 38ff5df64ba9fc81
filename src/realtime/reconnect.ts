/**
 * When and how long the client tries to get its session back after the socket drops.
 * The default waits 100 ms, 200 ms, 400 ms … up to 5 s between attempts, each delay
 * drawn at random from its upper half (jitter), so that a thousand clients cut off by the
 * same failure do not all knock at once.
 */
import { InvalidArgumentError } from "../errors.js";

/** Delay in ms before attempt number `attempt` (0-based). */
export type ReconnectStrategy = (attempt: number) => number;

export interface ReconnectOptions {
  /** Give up after this long without a session (ms). Diffusion's default. @default 60000 */
  timeout?: number;
  /** @default exponential backoff from 100 ms to 5 s with jitter */
  strategy?: ReconnectStrategy;
}

export interface ResolvedReconnect {
  enabled: boolean;
  timeout: number;
  strategy: ReconnectStrategy;
}

export function backoff(initialMs = 100, maxMs = 5000): ReconnectStrategy {
  return (attempt) => {
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  };
}

export function resolveReconnect(option: boolean | number | ReconnectOptions | undefined): ResolvedReconnect {
  if (option === false) return { enabled: false, timeout: 0, strategy: backoff() };
  if (option === undefined || option === true) return { enabled: true, timeout: 60_000, strategy: backoff() };
  if (typeof option === "number") {
    if (!(option > 0)) throw new InvalidArgumentError("reconnect must be false, a positive timeout in ms or { timeout, strategy }");
    return { enabled: true, timeout: option, strategy: backoff() };
  }
  const timeout = option.timeout ?? 60_000;
  if (!(timeout > 0)) throw new InvalidArgumentError("reconnect.timeout must be a positive number of ms");
  if (option.strategy !== undefined && typeof option.strategy !== "function") {
    throw new InvalidArgumentError("reconnect.strategy must be a function (attempt) => delayMs");
  }
  return { enabled: true, timeout, strategy: option.strategy ?? backoff() };
}

// Deliberately not unref()ed: a session that is recovering is work in progress and
// should keep the process alive, like the connection attempt it is waiting to make.
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The one ChangeWatch the coordinators hand out: it listens to an in-process EventEmitter
 * (fed by the backend: a memory write, a local SQLite write, a Redis pub/sub message) and
 * remembers a notification that came between two `next()` calls, so none is lost. `pollMs`
 * caps each wait for backends whose other processes cannot wake us (SQLite), or whose
 * subscription may not be live yet (Redis).
 */
import type { EventEmitter } from "node:events";
import type { ChangeWatch } from "../coordinator.js";

export interface EventWatch extends ChangeWatch {
  /** Counts as a notification (e.g. a subscription that just became live). */
  notify(): void;
}

export function eventWatch(events: EventEmitter, name: string, pollMs = Number.POSITIVE_INFINITY): EventWatch {
  let pending = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    if (wake === null) pending = true;
    else wake();
  };
  events.on(name, notify);
  return {
    notify,
    next: (maxMs) => {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
        const timer = setTimeout(done, Math.min(maxMs, pollMs));
        wake = done;
      });
    },
    close: () => {
      events.off(name, notify);
      wake?.();
    },
  };
}

/**
 * The parent side of a fleet of credential-session processes (each a fleet-child.ts forked
 * with tsx): start them, set them up on one saved session and one coordinator backend, run
 * bursts of concurrent requests in all of them at once, kill one with SIGKILL.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BurstResult, FleetSetup } from "./fleet-child.js";

export type { BurstResult, FleetSetup } from "./fleet-child.js";

const CHILD = fileURLToPath(new URL("./fleet-child.ts", import.meta.url));

type Reply = { type: "ready" } | { type: "holding" } | { type: "done"; result: BurstResult } | { type: "error"; message: string };

export class FleetChild {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  /** Resolves when the child reports it holds the lock in a refresh that never ends (setup.hold). */
  readonly holding: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    this.holding = new Promise((resolve) => {
      const on = (m: Reply) => {
        if (m.type !== "holding") return;
        child.off("message", on);
        resolve();
      };
      child.on("message", on);
    });
  }

  /** Forks a child and sets it up (it imports the saved session: no network). */
  static async start(setup: FleetSetup): Promise<FleetChild> {
    const child = fork(CHILD, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const fc = new FleetChild(child);
    await fc.setup(setup);
    return fc;
  }

  /** (Re)sets the child up: a new credential session on `setup`'s saved session and backend. */
  async setup(setup: FleetSetup): Promise<void> {
    await this.#ask({ cmd: "setup", setup }, "ready");
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** `n` concurrent requests in the child; resolves with what it saw. */
  async burst(n: number): Promise<BurstResult> {
    const reply = await this.#ask({ cmd: "burst", n }, "done");
    return (reply as { result: BurstResult }).result;
  }

  /** SIGKILL: no cleanup runs, the lock stays taken until its lease ends. */
  async kill(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#exited;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.send({ cmd: "close" });
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  #ask(message: object, want: Reply["type"]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: Reply) => {
        if (m.type === "error") {
          cleanup();
          reject(new Error(`fleet child: ${m.message}`));
        } else if (m.type === want) {
          cleanup();
          resolve(m);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`fleet child exited (${signal ?? code}) while waiting for ${want}`));
      };
      const cleanup = () => {
        this.#child.off("message", onMessage);
        this.#child.off("exit", onExit);
      };
      this.#child.on("message", onMessage);
      this.#child.once("exit", onExit);
      this.#child.send(message);
    });
  }
}

/** Starts `n` children at once. */
export function startFleet(n: number, setup: FleetSetup): Promise<FleetChild[]> {
  return Promise.all(Array.from({ length: n }, () => FleetChild.start(setup)));
}

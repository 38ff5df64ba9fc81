/**
 * Packs sessionkit the way `npm publish` would, once per run: the package's files are
 * copied into a staging directory (so the build that `prepack` runs never touches the
 * shared `dist/`), `npm pack` runs there with its `prepack` build (pack-worker.mjs), and the
 * tarball is kept in the temporary directory under a hash of everything that goes into it.
 * Test files run in separate processes, so a directory lock makes the others wait for the
 * first pack instead of packing again; a later run with unchanged sources reuses it.
 */
import { execFile, spawn, type ChildProcess, type ExecFileOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Files and directories that the staged copy needs: what the tarball holds plus the build config. */
const INPUTS = ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE", "CHANGELOG.md", "src"];

function listFiles(path: string, out: string[]): string[] {
  if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) listFiles(join(path, name), out);
  else out.push(path);
  return out;
}

/** A hash of every input file's path and bytes: the cache key of one packed build. */
export function inputsHash(): string {
  const hash = createHash("sha256");
  for (const input of INPUTS) {
    for (const file of listFiles(join(ROOT, input), [])) {
      hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
    }
  }
  return hash.digest("hex").slice(0, 16);
}

/** Child processes still running, killed if the runner stops this file (its time budget). */
const children = new Set<ChildProcess>();
let stopHandler = false;

/** execFile, with the child killed along with this process when the runner cancels the file. */
export function run(file: string, args: string[], options: ExecFileOptions = {}): Promise<{ stdout: string; stderr: string }> {
  if (!stopHandler) {
    stopHandler = true;
    process.once("SIGTERM", () => {
      for (const child of children) child.kill("SIGKILL");
      process.exit(143);
    });
  }
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 << 20, ...options, encoding: "utf8" }, (err, stdout, stderr) => {
      children.delete(child);
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
    children.add(child);
  });
}

function ownerAlive(lockDir: string): boolean {
  try {
    const pid = Number(readFileSync(join(lockDir, "pid"), "utf8"));
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false; // no such process
    // No pid file: a lock being created (alive), unless it has been so for seconds.
    try {
      return Date.now() - statSync(lockDir).mtimeMs < 10_000;
    } catch {
      return false;
    }
  }
}

/**
 * Runs `fn` under a lock directory (mkdir is atomic) that names its owner's pid. A lock
 * whose owner has died (the runner killed it) is taken over at once.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!ownerAlive(lockDir)) rmSync(lockDir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * The cache key of this run's packed build. Every test file of one run is a child of the
 * same runner process, and the first to ask fixes the key for all of them, so sources
 * edited during the run do not make a second build.
 */
async function runKey(): Promise<string> {
  const file = join(tmpdir(), `sessionkit-pack-run-${process.ppid}`);
  return withLock(`${file}.lock`, async () => {
    try {
      // A key file left by an earlier run whose runner had the same pid is stale.
      if (Date.now() - statSync(file).mtimeMs < 30 * 60_000) return readFileSync(file, "utf8");
    } catch {
      // none yet
    }
    const key = inputsHash();
    // A failed pack of the same sources in an earlier run is tried again in this one.
    rmSync(join(tmpdir(), `sessionkit-pack-${key}`, "error"), { force: true });
    writeFileSync(file, key);
    return key;
  });
}

export interface PackedBuild {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** The cache key (hash of the inputs). */
  key: string;
}

/**
 * Removes what earlier runs left in the temporary directory (15 MB per consumer project)
 * once it is an hour old; the Node binaries of node-versions.ts are kept.
 */
function pruneOldRuns(): void {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of readdirSync(tmpdir())) {
    if (!/^sessionkit-(pack|consumer|stage)-/.test(name)) continue;
    const path = join(tmpdir(), name);
    try {
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { recursive: true, force: true });
    } catch {
      // another run removed it first
    }
  }
}

/**
 * The packed tarball of the current sources, built at most once per run (pack-worker.mjs,
 * in a detached process, so that a build cut short by one test file's time budget is
 * finished for the next one instead of being started over).
 */
export async function packedTarball(): Promise<PackedBuild> {
  const key = await runKey();
  const dir = join(tmpdir(), `sessionkit-pack-${key}`);
  const done = join(dir, "tarball-path");
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(done)) return { tarball: readFileSync(done, "utf8"), key };
    if (existsSync(join(dir, "error"))) throw new Error(readFileSync(join(dir, "error"), "utf8"));
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (!ownerAlive(lock)) rmSync(lock, { recursive: true, force: true });
    }
    if (mine) {
      pruneOldRuns();
      writeFileSync(join(lock, "pid"), String(process.pid)); // until the worker writes its own
      const worker = spawn(process.execPath, [new URL("pack-worker.mjs", import.meta.url).pathname, ROOT, dir, lock], {
        detached: true,
        stdio: "ignore",
      });
      worker.unref();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

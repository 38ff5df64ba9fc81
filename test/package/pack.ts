/**
 * Packs sessionkit the way `npm publish` would, once per content: the package's files are
 * copied into a staging directory (so the build that `prepack` runs never touches the
 * shared `dist/`), `npm pack` runs there with its `prepack` build, and the tarball is kept
 * in the temporary directory under a hash of everything that goes into it. Test files run
 * in separate processes, so a directory lock makes the second one wait for the first pack
 * instead of packing again; a later run with unchanged sources reuses the tarball.
 */
import { execFile, type ChildProcess, type ExecFileOptions } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
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
    // ESRCH: no such process. A missing pid file is a lock being created: alive.
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
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

/** The packed tarball of the current sources, built at most once per content. */
export async function packedTarball(): Promise<PackedBuild> {
  const key = await runKey();
  const dir = join(tmpdir(), `sessionkit-pack-${key}`);
  const done = join(dir, "tarball-path");
  if (!existsSync(done)) {
    await withLock(`${dir}.lock`, async () => {
      if (existsSync(done)) return;
      const stage = join(tmpdir(), `sessionkit-stage-${key}-${process.pid}`);
      rmSync(stage, { recursive: true, force: true });
      mkdirSync(stage, { recursive: true });
      for (const input of INPUTS) cpSync(join(ROOT, input), join(stage, input), { recursive: true });
      // The build's tools (tsc) come from the repository's own install.
      symlinkSync(join(ROOT, "node_modules"), join(stage, "node_modules"), "dir");
      const out = join(stage, "out");
      mkdirSync(out);
      try {
        // npm pack runs `prepack` (clean + build) in the staged copy.
        await run("npm", ["pack", "--pack-destination", out, "--silent"], { cwd: stage });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`npm pack failed (its prepack build included):\n${e.stdout ?? ""}\n${e.stderr ?? e.message}`);
      }
      const tgz = readdirSync(out).find((f) => f.endsWith(".tgz"));
      if (tgz === undefined) throw new Error("npm pack wrote no tarball");
      mkdirSync(dir, { recursive: true });
      renameSync(join(out, tgz), join(dir, tgz));
      rmSync(stage, { recursive: true, force: true });
      writeFileSync(done, join(dir, tgz));
    });
  }
  return { tarball: readFileSync(done, "utf8"), key };
}

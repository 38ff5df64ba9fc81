/**
 * A temporary project that depends on sessionkit the way a user's does: the packed tarball
 * installed by npm (its dependencies resolved from the npm cache when they are there), and
 * nothing else of this repository. The tools a test needs in it (TypeScript, the optional
 * peers, the web frameworks of the examples) are linked from the repository's own install
 * instead of being installed again: they are not sessionkit's dependencies, so linking them
 * cannot hide a missing one. One project per packed build, shared by the test files.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { RUNTIME_CJS, RUNTIME_ESM, TYPECHECK_TS, tsconfig } from "./fixtures.js";
import { ROOT, packedTarball, run, withLock } from "./pack.js";

/** Linked from the repository's node_modules: tools and optional peers, never sessionkit's own dependencies. */
const LINKED = ["typescript", "@types/better-sqlite3", "@types/express", "better-sqlite3", "redis", "express", "fastify", "hono", "tsx"];

export interface ConsumerProject {
  dir: string;
  tarball: string;
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

export async function consumerProject(): Promise<ConsumerProject> {
  const { tarball, key } = await packedTarball();
  const dir = join(tmpdir(), `sessionkit-consumer-${key}`);
  const done = join(dir, ".ready");
  if (!existsSync(done)) {
    await withLock(`${dir}.lock`, async () => {
      if (existsSync(done)) return;
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "sessionkit-consumer", private: true, type: "module" }, null, 2));
      // @types/node at the version this repository tests with, so the install can come
      // from the cache; a consumer brings its own.
      const args = ["install", tarball, `@types/node@${installedVersion("@types/node")}`];
      args.push("--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error");
      try {
        await run("npm", args, { cwd: dir });
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        throw new Error(`npm install of the packed tarball failed:\n${e.stdout ?? ""}\n${e.stderr ?? e.message}`);
      }
      for (const name of LINKED) {
        const target = join(dir, "node_modules", name);
        if (existsSync(target)) continue;
        mkdirSync(dirname(target), { recursive: true });
        symlinkSync(join(ROOT, "node_modules", name), target, "dir");
      }
      // The consumer's own files (fixtures.ts), written before the project is marked ready
      // so that no test file reads one half-written.
      writeFileSync(join(dir, "typecheck.ts"), TYPECHECK_TS);
      writeFileSync(join(dir, "tsconfig.nodenext.json"), tsconfig("nodenext"));
      writeFileSync(join(dir, "tsconfig.bundler.json"), tsconfig("bundler"));
      writeFileSync(join(dir, "runtime.mjs"), RUNTIME_ESM);
      writeFileSync(join(dir, "runtime.cjs"), RUNTIME_CJS);
      writeFileSync(done, "");
    });
  }
  return { dir, tarball };
}

// Packing builds the package (tsc) and installs it: a minute or more on a loaded machine,
// once per run; the tests that wait for it get this timeout.
export const SLOW = { timeout: 600_000 };

export const bin = (name: string): string => join(ROOT, "node_modules", ".bin", name);

/** Runs a command and returns its output; on failure the error carries both streams. */
export async function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env } });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${[file, ...args].join(" ")} failed:\n${e.stdout ?? ""}\n${e.stderr ?? e.message}`);
  }
}

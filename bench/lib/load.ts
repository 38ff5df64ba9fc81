/**
 * Loads sessionkit for a benchmark: the compiled `dist/` build when present (what users
 * run; `npm run bench` builds it first), else the TypeScript sources through tsx. tsx's
 * transpiled code wraps functions to keep their names, which costs a little per closure,
 * so numbers from sources read slightly low; the loader says which one it measured.
 *
 * `SESSIONKIT_DIST=/path/to/checkout` measures the build of another checkout (e.g. a git
 * worktree of an older commit, built with `npx tsc -p tsconfig.build.json` there) instead;
 * `loadSessionkitFrom(dir)` loads one such build next to this one, for before/after rows
 * in a single run.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

type Root = typeof import("../../src/index.js");

export async function loadSessionkit(): Promise<Root> {
  if (process.env.SESSIONKIT_DIST) return loadSessionkitFrom(process.env.SESSIONKIT_DIST);
  const dist = new URL("../../dist/src/index.js", import.meta.url);
  if (process.env.SESSIONKIT_BENCH_SRC !== "1" && existsSync(fileURLToPath(dist))) {
    console.log("(measuring the compiled build in dist/)");
    return (await import(dist.href)) as Root;
  }
  console.log("(measuring the TypeScript sources via tsx: run `npm run build` to measure the build)");
  return import("../../src/index.js");
}

/** The compiled build of the checkout at `dir` (its `dist/src/index.js`); throws when not built. */
export async function loadSessionkitFrom(dir: string): Promise<Root> {
  const entry = path.resolve(dir, "dist/src/index.js");
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run \`npx tsc -p tsconfig.build.json\` in ${dir} first`);
  console.log(`(measuring the compiled build in ${path.dirname(path.dirname(entry))})`);
  return (await import(pathToFileURL(entry).href)) as Root;
}

/**
 * Loads sessionkit for a benchmark: the compiled `dist/` build when present (what users
 * run; `npm run bench` builds it first), else the TypeScript sources through tsx. tsx's
 * transpiled code wraps functions to keep their names, which costs a little per closure,
 * so numbers from sources read slightly low; the loader says which one it measured.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

type Root = typeof import("../../src/index.js");

export async function loadSessionkit(): Promise<Root> {
  const dist = new URL("../../dist/src/index.js", import.meta.url);
  if (process.env.SESSIONKIT_BENCH_SRC !== "1" && existsSync(fileURLToPath(dist))) {
    console.log("(measuring the compiled build in dist/)");
    return (await import(dist.href)) as Root;
  }
  console.log("(measuring the TypeScript sources via tsx: run `npm run build` to measure the build)");
  return import("../../src/index.js");
}

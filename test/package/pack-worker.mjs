// Packs sessionkit for pack.ts in a process of its own, detached from the test file that
// started it: the runner gives each test file a time budget, and on a loaded machine the
// build can outlast it; a detached pack keeps going, and the next file that asks finds the
// tarball instead of starting over. Arguments: the repository root, the cache directory,
// the lock directory (this process owns it and removes it when done).
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [root, dir, lock] = process.argv.slice(2);
const INPUTS = ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "LICENSE", "CHANGELOG.md", "src"];
const stage = join(tmpdir(), `sessionkit-stage-${process.pid}`);
try {
  writeFileSync(join(lock, "pid"), String(process.pid));
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, "out"), { recursive: true });
  for (const input of INPUTS) cpSync(join(root, input), join(stage, input), { recursive: true });
  // The build's tools (tsc) come from the repository's own install.
  symlinkSync(join(root, "node_modules"), join(stage, "node_modules"), "dir");
  try {
    // npm pack runs `prepack` (clean + build) in the staged copy.
    execFileSync("npm", ["pack", "--pack-destination", join(stage, "out"), "--silent"], { cwd: stage, stdio: "pipe", maxBuffer: 64 << 20 });
  } catch (err) {
    throw new Error(`npm pack failed (its prepack build included):\n${err.stdout ?? ""}\n${err.stderr ?? err.message}`);
  }
  const tgz = readdirSync(join(stage, "out")).find((f) => f.endsWith(".tgz"));
  if (tgz === undefined) throw new Error("npm pack wrote no tarball");
  mkdirSync(dir, { recursive: true });
  renameSync(join(stage, "out", tgz), join(dir, tgz));
  writeFileSync(join(dir, "tarball-path"), join(dir, tgz));
} catch (err) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "error"), err instanceof Error ? err.message : String(err));
} finally {
  rmSync(stage, { recursive: true, force: true });
  rmSync(lock, { recursive: true, force: true });
}

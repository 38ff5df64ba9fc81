/**
 * Node binaries of other major versions, from the `node` package on the npm registry
 * (its install script fetches the matching `node-<os>-<arch>` package), so no system
 * install is needed. Each is installed once into the temporary directory and reused by
 * later runs. When the registry cannot be reached the result says so, and the caller skips
 * with that reason; any other failure is an error.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, withLock } from "./pack.js";

export type NodeBinary = { ok: true; path: string; version: string } | { ok: false; reason: string };

const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network|offline|request to .* failed/i;

export async function nodeBinary(major: number): Promise<NodeBinary> {
  const dir = join(tmpdir(), `sessionkit-node-${major}-${process.platform}-${process.arch}`);
  const bin = join(dir, "node_modules", "node", "bin", "node");
  if (!existsSync(bin)) {
    const failure = await withLock(`${dir}.lock`, async (): Promise<string | undefined> => {
      if (existsSync(bin)) return undefined;
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      // npm 11 runs a dependency's install script only when the project allows it.
      writeFileSync(join(dir, "package.json"), JSON.stringify({ name: `node-${major}`, private: true, allowScripts: { node: true } }));
      try {
        await run("npm", ["install", `node@${major}`, "--no-audit", "--no-fund", "--loglevel=error"], {
          cwd: dir,
          timeout: 240_000,
        });
        return undefined;
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string };
        const text = `${e.stderr ?? ""}\n${e.message}`;
        rmSync(dir, { recursive: true, force: true });
        if (OFFLINE.test(text))
          return `the npm registry cannot be reached (offline?), so node@${major} cannot be installed: ${text.trim().split("\n")[0]}`;
        throw new Error(`npm install node@${major} failed:\n${e.stdout ?? ""}\n${text}`);
      }
    });
    if (failure !== undefined) return { ok: false, reason: failure };
  }
  const { stdout } = await run(bin, ["--version"]);
  return { ok: true, path: bin, version: stdout.trim() };
}

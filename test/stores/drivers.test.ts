/**
 * A missing optional driver names the package to install (issue 13). Honest absence: a
 * copy of `src/` in a temporary directory, where neither better-sqlite3 nor redis can be
 * resolved, is run in a child process (through tsx, loaded from this project). Importing
 * the store entry points must work; constructing a store must say what to install.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = mkdtempSync(join(tmpdir(), "sessionkit-nodriver-"));
after(() => rmSync(dir, { recursive: true, force: true }));
cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
const tsx = createRequire(join(root, "package.json")).resolve("tsx");

function runInCopy(code: string): { status: number | null; out: string } {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, ["--import", tsx, file], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("stores without their optional driver installed", () => {
  it("the copy really cannot resolve the drivers", () => {
    const req = createRequire(join(dir, "src", "stores", "sqlite.ts"));
    for (const pkg of ["better-sqlite3", "redis"]) assert.throws(() => req.resolve(pkg), { code: "MODULE_NOT_FOUND" });
    assert.equal(existsSync(join(dir, "node_modules")), false);
  });

  for (const [entry, ctor, pkg, args] of [
    ["sqlite", "SqliteStore", "better-sqlite3", `{ path: ":memory:" }`],
    ["redis", "RedisStore", "redis", `{ url: "redis://127.0.0.1:6379" }`],
  ] as const) {
    it(`sessionkit/stores/${entry} imports, and new ${ctor}() says "npm install ${pkg}"`, () => {
      const r = runInCopy(`
        const mod = await import("./src/stores/${entry}.ts");
        try {
          new mod.${ctor}(${args});
          console.log("NO ERROR");
        } catch (e) {
          console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.code }));
        }`);
      assert.equal(r.status, 0, r.out);
      const line = r.out.trim().split("\n").at(-1) ?? "";
      assert.notEqual(line, "NO ERROR");
      const e = JSON.parse(line) as { code: string; message: string; cause: string };
      assert.equal(e.code, "STORE_UNAVAILABLE");
      assert.match(e.message, new RegExp(`npm install ${pkg}`));
      assert.match(e.message, new RegExp(`${ctor} needs the optional dependency ${pkg}`));
      assert.equal(e.cause, "MODULE_NOT_FOUND", "the resolution error is kept as the cause");
    });
  }
});

/**
 * Every program in examples/ runs as a user would run it: in a project where sessionkit is
 * installed from its packed tarball (test/package/consumer-project.ts), importing it by its
 * name, on plain Node (no TypeScript loader). Each must exit 0 on its own (the examples
 * assert what they show). The demo's table is coloured only when asked for.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SLOW, consumerProject, exec } from "./package/consumer-project.js";
import { ROOT } from "./package/pack.js";

const EXAMPLES = join(ROOT, "examples");
const programs = readdirSync(EXAMPLES).filter((f) => f.endsWith(".mjs"));

/** The consumer project with this checkout's examples/ copied in. */
let ready: Promise<string> | undefined;
function project(): Promise<string> {
  ready ??= consumerProject().then(({ dir }) => {
    const target = join(dir, `examples-${process.pid}`);
    rmSync(target, { recursive: true, force: true });
    cpSync(EXAMPLES, target, { recursive: true });
    return target;
  });
  return ready;
}

const ANSI = /\x1b\[[0-9;]*m/; // eslint-disable-line no-control-regex

test("examples import sessionkit by its package name, never the repository's files", () => {
  assert.ok(programs.length >= 6, `found ${programs.join(", ")}`);
  for (const file of [...programs, ...readdirSync(join(EXAMPLES, "lib")).map((f) => `lib/${f}`)]) {
    const source = readFileSync(join(EXAMPLES, file), "utf8");
    assert.doesNotMatch(source, /from "\.\.\/(\.\.\/)?(src|dist)\//, `${file} imports the repository's files`);
    assert.doesNotMatch(source, /await using/, `${file}: \`await using\` is a syntax error on Node 20`);
  }
});

// The programs are independent (each listens on its own ports), so they run side by side.
test("every example runs to completion", { ...SLOW, concurrency: true }, async (t) => {
  const dir = await project();
  await Promise.all(
    programs
      .filter((p) => p !== "demo.mjs")
      .map((program) =>
        t.test(`examples/${program}`, async () => {
          const out = await exec(process.execPath, [program], dir);
          assert.ok(out.trim().length > 0, "it prints what it shows");
        }),
      ),
  );
});

test("npm run demo: every part, a table, no colour when piped or under NO_COLOR", SLOW, async () => {
  const dir = await project();
  const plain = await exec(process.execPath, ["demo.mjs"], dir, { NO_COLOR: "", FORCE_COLOR: "" });
  assert.doesNotMatch(plain, ANSI, "no colour codes in a pipe");
  assert.match(plain, /^part\s+step\s+result\s+time$/m);
  for (const part of ["http", "features", "login", "realtime", "server"]) {
    assert.match(plain, new RegExp(`^${part}\\s+\\S.*\\s+ok\\s+[\\d.]+ ms$`, "m"), `a passing ${part} row`);
  }
  assert.match(plain, /session string/);
  assert.match(plain, /dropped connection recovered/);
  assert.doesNotMatch(plain, /FAIL/);

  const [forced, noColor] = await Promise.all([
    exec(process.execPath, ["demo.mjs"], dir, { FORCE_COLOR: "1" }),
    exec(process.execPath, ["demo.mjs"], dir, { NO_COLOR: "1" }),
  ]);
  assert.match(forced, ANSI, "FORCE_COLOR=1 colours it");
  assert.doesNotMatch(noColor, ANSI);
});

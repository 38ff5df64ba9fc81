/**
 * sessionkit as a user's project gets it: `npm pack` (with its prepack build), the tarball
 * installed into a temporary project (consumer-project.ts), and there
 *  (a) a file importing every entry point type-checks with `strict` and without
 *      `skipLibCheck`, under `module: nodenext` and under `moduleResolution: bundler`, in a
 *      project without the DOM library;
 *  (b) every entry point loads through `import` and through `require()`, and a real request
 *      goes through a Session (on Node 22 and 24 too: consumer-node-versions.test.ts);
 *  (c) publint and @arethetypeswrong/cli find no errors (consumer-lint.test.ts).
 * The files are separate because the runner gives each file a time budget, and the first
 * one to ask packs and installs the package for all of them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SLOW, consumerProject, exec } from "./consumer-project.js";
import { ROOT } from "./pack.js";

test("the tarball holds the build, its sources for the maps, and the legal files", SLOW, async () => {
  const { tarball } = await consumerProject();
  const list = (await exec("tar", ["-tzf", tarball], ROOT)).split("\n").filter(Boolean);
  for (const file of ["package/dist/src/index.js", "package/dist/src/index.d.ts", "package/LICENSE", "package/CHANGELOG.md", "package/README.md"]) {
    assert.ok(list.includes(file), `${file} is in the tarball`);
  }
  assert.ok(!list.some((f) => f.startsWith("package/test/") || f.startsWith("package/bench/")), "no tests or benches");
  // Every map's sources are shipped: a map that points at a missing file is worse than none.
  const maps = list.filter((f) => f.endsWith(".js.map") || f.endsWith(".d.ts.map"));
  assert.ok(maps.length > 0, "source maps are shipped");
  for (const map of maps) {
    const json = JSON.parse(await exec("tar", ["-xzOf", tarball, map], ROOT)) as { sources: string[] };
    for (const source of json.sources) {
      const resolved = join(map, "..", source);
      assert.ok(list.includes(resolved), `${map} points at ${resolved}, which is shipped`);
    }
  }
});

for (const kind of ["nodenext", "bundler"] as const) {
  test(`a strict consumer type-checks every entry point without skipLibCheck (${kind})`, SLOW, async () => {
    const { dir } = await consumerProject();
    await exec(process.execPath, [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", `tsconfig.${kind}.json`], dir);
  });
}

test("every entry point loads through import and through require() on this Node", SLOW, async () => {
  const { dir } = await consumerProject();
  assert.match(await exec(process.execPath, ["runtime.mjs"], dir), /^ok v/m);
  assert.match(await exec(process.execPath, ["runtime.cjs"], dir), /^ok v/m);
});

test("the sessionkit command runs from the installed package (bin)", SLOW, async () => {
  const { dir } = await consumerProject();
  const out = await exec(join(dir, "node_modules", ".bin", "sessionkit"), ["--help"], dir);
  assert.match(out, /sessionkit/);
});

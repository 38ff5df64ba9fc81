/** publint and @arethetypeswrong/cli on the packed tarball: any error fails the suite. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SLOW, bin, exec } from "./consumer-project.js";
import { ROOT, packedTarball } from "./pack.js";

test("publint finds nothing to report, warnings included", SLOW, async () => {
  const { tarball } = await packedTarball();
  const out = await exec(bin("publint"), ["run", tarball, "--strict", "--pack", "false"], ROOT);
  assert.match(out, /All good/);
});

test("@arethetypeswrong/cli finds no problems", SLOW, async () => {
  const { tarball } = await packedTarball();
  // cjs-resolves-to-esm: attw models CommonJS importers that cannot require() an ES module;
  // sessionkit is ESM only and its require() path is run for real on each Node version
  // (consumer.test.ts, consumer-node-versions.test.ts).
  const out = await exec(bin("attw"), [tarball, "--ignore-rules", "cjs-resolves-to-esm", "--format", "ascii", "--no-emoji"], ROOT);
  assert.match(out, /No problems found/);
});
